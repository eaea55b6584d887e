/**
 * The Apache Kafka release the local broker runs.
 *
 * 3.9 is the newest line that still speaks every protocol version kafkajs 2.x sends (Kafka 4.0
 * removed JoinGroup v0-v1 and friends, KIP-896); librdkafka (node-rdkafka) talks to both.
 */
export const KAFKA_VERSION = '3.9.1'
export const SCALA_VERSION = '2.13'
/** Kafka 3.9 logs through slf4j; reload4j is the backend its own distribution ships. */
export const SLF4J_BACKEND = 'org.slf4j:slf4j-reload4j:1.7.36'
