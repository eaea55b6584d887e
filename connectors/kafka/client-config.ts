import { type KafkaSecurity, securityConfig } from './security.js'

export type LibrdkafkaConfig = Record<string, string | number | boolean>

/** `spec.kafka` of a topology: where the brokers are and librdkafka properties per client. */
export interface KafkaSettings {
  /** bootstrap.servers; falls back to $KAFKA_BROKERS, then localhost:9092. */
  bootstrapServers?: string
  /** librdkafka properties for every client (SASL, TLS, tuning), passed through as written. */
  config?: Record<string, string | number | boolean>
  /** librdkafka properties for the consumer only. */
  consumer?: Record<string, string | number | boolean>
  /** librdkafka properties for the producer only. */
  producer?: Record<string, string | number | boolean>
  /** TLS, mutual TLS and SASL, with secrets from files or environment variables. */
  security?: KafkaSecurity
}

/**
 * Kafka's Java clients (and so Kafka Streams) back off at most 1 s between reconnects;
 * librdkafka's default is 10 s, which after a broker restart can outlast a transactional
 * producer's message timeout (capped at transaction.timeout.ms).
 */
const RECONNECT: LibrdkafkaConfig = { 'reconnect.backoff.max.ms': 1_000 }

/** What every client takes, after its own defaults: reconnect backoff, security, then `spec.kafka.config`. */
function shared(settings: KafkaSettings): LibrdkafkaConfig {
  return { ...RECONNECT, ...securityConfig(settings.security), ...settings.config }
}

/** bootstrap.servers from the topology, else $KAFKA_BROKERS, else a local broker. */
function bootstrapServers(settings: KafkaSettings, env: NodeJS.ProcessEnv = process.env): string {
  return settings.bootstrapServers ?? env.KAFKA_BROKERS ?? 'localhost:9092'
}

/** What the runtime adds to the clients beyond the topology's settings. */
export interface ClientIdentity {
  /**
   * Static membership (group.instance.id): the StatefulSet pod name; a restart takes its partitions back without a
   * rebalance.
   */
  instanceId?: string
  exactlyOnce?: boolean
}

/**
 * Our defaults first, then `spec.kafka.config`, then the client-specific section: what the
 * operator writes always wins (SASL, TLS and tuning pass straight through to librdkafka).
 * Settings the engine's guarantees rest on are applied last and cannot be overridden.
 */
export function consumerConfig(
  settings: KafkaSettings,
  groupId: string,
  startOffset: 'earliest' | 'latest',
  identity: ClientIdentity = {},
): { global: LibrdkafkaConfig; topic: LibrdkafkaConfig } {
  return {
    global: {
      'client.id': `${groupId}-consumer`,
      'fetch.wait.max.ms': 100,
      'fetch.min.bytes': 1,
      // Small fetches and a shallow queue give every partition its turn. One consumer queue holds
      // the records of all partitions in fetch order: with 4 MB per partition and 128 MB queued,
      // a repartition topic's records waited behind the whole input backlog (warning-counts with
      // 200,000 events waiting: first output 1.3 s after ready, now 0.5 s; at 15,000 events/s, p99
      // from input to output 1.6 s, now 0.45 s). events-fanout: as fast (median 27.0k vs 24.2k
      // records/s over 5 runs each) in 300–450 MB RSS instead of 500–576. Past its bound, the
      // queue is fetched again after 10 ms instead of librdkafka's 1 s.
      'max.partition.fetch.bytes': 256 * 1024,
      'queued.min.messages': 100_000,
      'queued.max.messages.kbytes': 16 * 1024,
      'fetch.queue.backoff.ms': 10,
      ...shared(settings),
      ...settings.consumer,
      'bootstrap.servers': bootstrapServers(settings),
      'group.id': groupId,
      // Offsets are committed by the commit loop, only past outputs the broker acknowledged.
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'enable.partition.eof': false,
      // Under exactly-once, aborted outputs of another task (repartition topics) are never read.
      'isolation.level': identity.exactlyOnce ? 'read_committed' : 'read_uncommitted',
      // Eager, and range: partition p of every input goes to one replica (a stream and its
      // co-partitioned table; a sub-topology and the repartition topic it feeds), and every
      // generation assigns every partition. Cooperative rebalancing withholds moving partitions
      // until the member giving them up rejoins; when that rejoin is a static member's
      // replacement (librdkafka resets its member id after a session timeout, as in a broker
      // restart) the group is not rebalanced and the withheld partitions stay with nobody
      // (a broker restart during a scale-up left a repartition topic unread for minutes).
      'partition.assignment.strategy': 'range',
      ...(identity.instanceId ? { 'group.instance.id': identity.instanceId } : {}),
    },
    topic: { 'auto.offset.reset': startOffset },
  }
}

export function producerConfig(
  settings: KafkaSettings,
  applicationId: string,
  identity: ClientIdentity = {},
): LibrdkafkaConfig {
  return {
    'client.id': `${applicationId}-producer`,
    // Kafka's Java clients (and so Kafka Streams) hash keys with murmur2: a table written by
    // them and a stream repartitioned by us put one key in the same partition.
    partitioner: 'murmur2_random',
    'linger.ms': 10,
    'batch.num.messages': 10_000,
    'batch.size': 1_000_000,
    'queue.buffering.max.messages': 500_000,
    // Kafka's Java producer's buffer.memory: what waits for the brokers is bounded, in a pod's
    // memory limit, by flow control (a full queue holds processing until it drains) rather than
    // by librdkafka's 1 GB default.
    'queue.buffering.max.kbytes': 32 * 1024,
    // Idempotence keeps per-partition order and drops broker-side duplicates on retry.
    'enable.idempotence': true,
    // Kafka Streams' exactly-once default: a replica that died without a stable instance id
    // holds read_committed readers (repartition topics included) back for at most this long.
    ...(identity.exactlyOnce ? { 'transaction.timeout.ms': 10_000 } : {}),
    ...shared(settings),
    ...settings.producer,
    'bootstrap.servers': bootstrapServers(settings),
    ...(identity.exactlyOnce ? { 'transactional.id': transactionalId(applicationId, identity.instanceId) } : {}),
    // Delivery is confirmed by flushing before each commit; only failures need a report.
    dr_cb: true,
    dr_msg_cb: false,
    'delivery.report.only.error': true,
  }
}

/**
 * librdkafka's topic-level producer properties. node-rdkafka hands librdkafka a default topic
 * configuration of its own, which replaces whatever topic-level properties the global one
 * carried: set only globally, `partitioner: murmur2_random` silently became librdkafka's
 * CRC32 `consistent_random` (node-rdkafka#817). They must go in the topic configuration.
 */
const TOPIC_LEVEL_PRODUCER_PROPERTIES = new Set([
  'partitioner',
  'acks',
  'request.required.acks',
  'request.timeout.ms',
  'message.timeout.ms',
  'delivery.timeout.ms',
  'queuing.strategy',
  'produce.offset.report',
  'compression.codec',
  'compression.type',
  'compression.level',
])

/** Splits a producer's properties into node-rdkafka's global and topic configurations. */
export function producerConfigs(config: LibrdkafkaConfig): { global: LibrdkafkaConfig; topic: LibrdkafkaConfig } {
  const global: LibrdkafkaConfig = {}
  const topic: LibrdkafkaConfig = {}
  for (const [name, value] of Object.entries(config))
    (TOPIC_LEVEL_PRODUCER_PROPERTIES.has(name) ? topic : global)[name] = value
  return { global, topic }
}

/** The admin client takes the shared (security) settings only. */
export function adminConfig(settings: KafkaSettings, applicationId: string): LibrdkafkaConfig {
  return {
    'client.id': `${applicationId}-admin`,
    ...shared(settings),
    'bootstrap.servers': bootstrapServers(settings),
  }
}

/**
 * One transactional producer per replica. With a stable instance id, a restarted replica
 * reuses its transactional.id and so aborts its previous life's open transaction at once;
 * without one, an abandoned transaction holds read_committed readers until
 * transaction.timeout.ms.
 */
function transactionalId(applicationId: string, instanceId: string | undefined): string {
  return `${applicationId}-${instanceId ?? `${process.pid}-${Date.now().toString(36)}`}`
}

/** The consumer that replays changelogs: never joins the group, reads only committed data under exactly-once. */
export function restoreConsumerConfig(
  settings: KafkaSettings,
  applicationId: string,
  identity: ClientIdentity = {},
): LibrdkafkaConfig {
  return {
    'client.id': `${applicationId}-restore-consumer`,
    'fetch.wait.max.ms': 50,
    // A shallow prefetch: the restorer applies 1,000 records per LMDB transaction, so 20,000
    // queued are ahead of it by many fetches. librdkafka's defaults (64 MB, 100,000 records)
    // cost ~110 MB of anonymous memory restoring 1M keys, measured, for no speed.
    'max.partition.fetch.bytes': 256 * 1024,
    'queued.min.messages': 20_000,
    'queued.max.messages.kbytes': 4 * 1024,
    'fetch.queue.backoff.ms': 10,
    ...shared(settings),
    'bootstrap.servers': bootstrapServers(settings),
    'group.id': `${applicationId}-restore`,
    'isolation.level': identity.exactlyOnce ? 'read_committed' : 'read_uncommitted',
  }
}
