import type * as PlatformaticKafka from '@platformatic/kafka'
import type { Admin, SASLOptions } from '@platformatic/kafka'
import { readFileSync } from 'node:fs'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import type { TopicPartition, TopicPartitionOffset } from '../../core/record-consumer.js'
import type { LibrdkafkaConfig } from './client-config.js'
import { KafkaError } from './kafka-error.js'

/** Kafka's error code for a topic the principal may not access. */
const TOPIC_AUTHORIZATION_FAILED = 29

/**
 * The admin requests node-rdkafka 3.6 does not bind (librdkafka has them): DeleteRecords, which
 * purges what the group has committed from a repartition topic, and IncrementalAlterConfigs,
 * which gives a repartition topic made by an older kubestream its retention; and Metadata's
 * per-topic errors, which node-rdkafka drops. Sent by
 * @platformatic/kafka's pure-TypeScript admin client, configured from the same librdkafka
 * properties as the other clients.
 */
export class RecordsAdmin {
  private constructor(
    private readonly admin: Admin,
    private readonly kafka: typeof PlatformaticKafka,
  ) {}

  /**
   * Throws a KafkaError naming the property it cannot carry over (an OAuth or Kerberos login).
   * The client library is loaded on first use, not with the engine: it is ~30 MB of a pod's memory.
   */
  static async create(config: LibrdkafkaConfig, clientId: string): Promise<RecordsAdmin> {
    const options = { clientId, ...connectionOptions(config), retries: 3, timeout: 30_000 }
    const kafka = await import('@platformatic/kafka')
    return new RecordsAdmin(new kafka.Admin(options), kafka)
  }

  /** The group's committed offsets of these partitions; partitions without one are left out. */
  async committedOffsets(group: string, partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    const byTopic = groupByTopic(partitions, ({ partition }) => partition)
    const [answer] = await this.admin.listConsumerGroupOffsets({
      groups: [{ groupId: group, topics: [...byTopic].map(([name, parts]) => ({ name, partitionIndexes: parts })) }],
    })
    return (answer?.topics ?? []).flatMap(({ name, partitions: parts }) =>
      parts
        .filter(({ committedOffset }) => committedOffset >= 0n)
        .map(({ partitionIndex, committedOffset }) => ({
          topic: name,
          partition: partitionIndex,
          offset: Number(committedOffset),
        })),
    )
  }

  /**
   * Which of these topics the brokers refuse to describe to this client (no DESCRIBE ACL):
   * librdkafka's metadata leaves them out as if they did not exist. The brokers answer the
   * same for a topic that does not exist, so as not to reveal it. Empty when the request fails.
   */
  async undescribableTopics(topics: string[]): Promise<string[]> {
    try {
      await this.admin.metadata({ topics, autocreateTopics: false })
      return []
    } catch (error) {
      const answer = (error as { response?: { topics?: Array<{ name: string; errorCode: number }> } }).response
      return (answer?.topics ?? [])
        .filter(({ errorCode }) => errorCode === TOPIC_AUTHORIZATION_FAILED)
        .map((t) => t.name)
    }
  }

  /** Deletes every record below each offset (the partition's log start moves up to it). */
  async deleteRecordsBefore(offsets: TopicPartitionOffset[]): Promise<void> {
    const byTopic = groupByTopic(offsets, ({ partition, offset }) => ({ partition, offset: BigInt(offset) }))
    await this.admin.deleteRecords({ topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) })
  }

  /**
   * Sets the topic configs that differ from `config`, leaving the others as they are; returns
   * the names it changed.
   */
  async ensureTopicConfig(topic: string, config: Readonly<Record<string, string>>): Promise<string[]> {
    const [described] = await this.admin.describeConfigs({
      resources: [
        {
          resourceType: this.kafka.ConfigResourceTypes.TOPIC,
          resourceName: topic,
          configurationKeys: Object.keys(config),
        },
      ],
    })
    const current = new Map((described?.configs ?? []).map(({ name, value }) => [name, value]))
    const changed = Object.entries(config).filter(([name, value]) => current.get(name) !== value)
    if (changed.length === 0) return []
    await this.admin.incrementalAlterConfigs({
      resources: [
        {
          resourceType: this.kafka.ConfigResourceTypes.TOPIC,
          resourceName: topic,
          configs: changed.map(([name, value]) => ({
            name,
            value,
            configOperation: this.kafka.IncrementalAlterConfigOperationTypes.SET,
          })),
        },
      ],
    })
    return changed.map(([name]) => name)
  }

  async close(): Promise<void> {
    await this.admin.close()
  }
}

/** The admin requests name partitions per topic. */
function groupByTopic<T extends TopicPartition, U>(partitions: T[], entry: (partition: T) => U): Map<string, U[]> {
  const byTopic = new Map<string, U[]>()
  for (const partition of partitions) {
    let entries = byTopic.get(partition.topic)
    if (!entries) byTopic.set(partition.topic, (entries = []))
    entries.push(entry(partition))
  }
  return byTopic
}

/** librdkafka's connection and security properties as @platformatic/kafka takes them. */
function connectionOptions(config: LibrdkafkaConfig): {
  bootstrapBrokers: string[]
  tls?: TlsOptions
  sasl?: SASLOptions
} {
  const get = (name: string) => (config[name] === undefined ? undefined : String(config[name]))
  const protocol = (get('security.protocol') ?? 'plaintext').toLowerCase()
  const bootstrapBrokers = String(config['bootstrap.servers'])
    .split(',')
    .map((broker) => broker.trim().replace(/^[a-z]+:\/\//i, ''))
  let tls: TlsOptions | undefined
  if (protocol === 'ssl' || protocol === 'sasl_ssl') {
    const file = (name: string) => (get(name) ? readFileSync(get(name)!) : undefined)
    tls = {
      ca: file('ssl.ca.location') ?? get('ssl.ca.pem'),
      cert: file('ssl.certificate.location') ?? get('ssl.certificate.pem'),
      key: file('ssl.key.location') ?? get('ssl.key.pem'),
      passphrase: get('ssl.key.password'),
      rejectUnauthorized: get('enable.ssl.certificate.verification') !== 'false',
    }
  }
  let sasl: SASLOptions | undefined
  if (protocol === 'sasl_plaintext' || protocol === 'sasl_ssl') {
    const mechanism = (get('sasl.mechanisms') ?? get('sasl.mechanism') ?? 'GSSAPI').toUpperCase()
    if (mechanism !== 'PLAIN' && mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512')
      throw new KafkaError('CONNECT', `the records admin cannot log in with sasl.mechanisms=${mechanism}`)
    sasl = { mechanism, username: get('sasl.username'), password: get('sasl.password') }
  }
  return { bootstrapBrokers, ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) }
}
