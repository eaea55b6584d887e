/**
 * The Apache Kafka release the local broker runs: `KAFKA_VERSION` in the environment, else 4.1.1,
 * the line our users run (Strimzi ships only 4.x). librdkafka (node-rdkafka) talks to 3.x and 4.x.
 *
 * The fan-out benchmark's kafkajs baseline is the one thing that needs 3.9: Kafka 4.0 removed
 * the old protocol versions kafkajs 2.x sends (JoinGroup v0-v1 and friends, KIP-896).
 */
export const DEFAULT_KAFKA_VERSION = '4.1.1'
export const KAFKAJS_COMPATIBLE_VERSION = '3.9.1'
export const SCALA_VERSION = '2.13'

export function kafkaVersion(env: NodeJS.ProcessEnv = process.env): string {
  return env.KAFKA_VERSION || DEFAULT_KAFKA_VERSION
}

/** Kafka 4 logs through log4j2; 3.x through slf4j, whose backend its distribution ships is reload4j. */
export function isLog4j2(version: string): boolean {
  return Number(version.split('.')[0]) >= 4
}

/** The slf4j binding the broker's classpath needs besides kafka_2.13 itself. */
export function loggingBackend(version: string): string {
  return isLog4j2(version) ? 'org.apache.logging.log4j:log4j-slf4j-impl:2.24.3' : 'org.slf4j:slf4j-reload4j:1.7.36'
}
