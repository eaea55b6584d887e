/**
 * The topology file as operators write it (YAML) and as the builder API produces it.
 * These types mirror `schema.ts`; the schema is what validates, the types are what code reads.
 */

export const API_VERSION = 'kubestream.io/v1alpha1'

export interface TopologyDocument {
  apiVersion: typeof API_VERSION
  kind: 'Topology'
  metadata: {
    /** The application id: consumer group id and prefix of every internal topic. */
    name: string
    labels?: Record<string, string>
  }
  spec: TopologySpec
}

export interface TopologySpec {
  kafka?: KafkaSettings
  processing?: ProcessingSettings
  deadLetter?: DeadLetterSettings
  sources: SourceSpec[]
  steps?: StepSpec[]
  sinks: SinkSpec[]
}

export interface KafkaSettings {
  /** bootstrap.servers; falls back to $KAFKA_BROKERS, then localhost:9092. */
  bootstrapServers?: string
  /** librdkafka properties for every client (SASL, TLS, tuning), passed through as written. */
  config?: Record<string, string | number | boolean>
  /** librdkafka properties for the consumer only. */
  consumer?: Record<string, string | number | boolean>
  /** librdkafka properties for the producer only. */
  producer?: Record<string, string | number | boolean>
}

/**
 * `at_least_once`: outputs are flushed before input offsets are committed; a crash repeats records.
 * `exactly_once`: outputs, changelog records and input offsets commit in one Kafka transaction.
 */
export type ProcessingGuarantee = 'at_least_once' | 'exactly_once'

export interface ProcessingSettings {
  guarantee?: ProcessingGuarantee
  /** How often the producer is flushed and processed positions committed (Kafka Streams' commit.interval.ms). */
  commitIntervalMs?: number
  /** Largest batch the consumer hands to the tasks in one go. */
  maxBatchSize?: number
  /** How long shutdown may take before the process gives up on a clean flush. */
  shutdownTimeoutMs?: number
  /** Where stores live on local disk (Kafka Streams' state.dir); `--state-dir` or $KUBESTREAM_STATE_DIR win; default /tmp/kubestream. */
  stateDir?: string
}

export interface TopicSettings {
  partitions?: number
  replicationFactor?: number
  /** Topic configs such as retention.ms or cleanup.policy. */
  config?: Record<string, string | number>
}

export interface DeadLetterSettings extends TopicSettings {
  /** Defaults to `<application id>-dlq`. */
  topic?: string
}

export type Format = 'json' | 'string' | 'bytes'

export interface SourceSpec {
  name: string
  description?: string
  kafka: {
    topic: string
    /** How values are decoded; keys are read as UTF-8 strings. */
    format?: Format
    /** Where a new consumer group starts. */
    startOffset?: 'earliest' | 'latest'
    /**
     * The record's event time (Kafka Streams' TimestampExtractor), which windows use: CEL giving
     * epoch milliseconds, a CEL timestamp, or an RFC 3339 string, e.g. `value.event.lastTimestamp`.
     * Defaults to the Kafka record's timestamp.
     */
    timestamp?: string
  }
}

/** A step applies exactly one operator to the records of `from`. Expressions are CEL. */
export interface StepSpec {
  name: string
  from: string
  description?: string
  /** Keep records for which the expression is true. */
  filter?: string
  /** Replace the value with the expression's result. */
  map?: string
  /** Replace each record with one record per element of the list the expression returns. */
  flatMap?: string
  /** Replace the key with the expression's result. */
  keyBy?: string
  /** Set headers: name → expression; a null result removes the header. */
  headers?: Record<string, string>
  /** Count records per key (and window). */
  count?: AggregationSpec
  /** Combine each record's value into the key's aggregate: CEL over `aggregate` (so far) and `value`. */
  reduce?: AggregationSpec & { reducer: string }
  /** Fold values into an aggregate that starts as `initializer` and becomes `adder` (CEL over `aggregate`, `value`, `key`). */
  aggregate?: AggregationSpec & { initializer: string; adder: string }
}

/** A duration: milliseconds, or a string such as `500ms`, `30s`, `1m`, `2h`, `1d`. */
export type Duration = number | string

/** What every stateful aggregation takes besides its expressions. */
export interface AggregationSpec {
  /** The store's name; names its changelog `<application id>-<store>-changelog`. Defaults to the step name. */
  store?: string
  window?: WindowSpec
  /**
   * `onUpdate` (default): every change goes downstream at once.
   * `onWindowClose`: one final result per window once stream time passes its end plus grace.
   */
  emit?: 'onUpdate' | 'onWindowClose'
  /** How the repartition topic in front of this step is created, when a keyBy upstream needs one. */
  repartition?: { partitions?: number }
}

/**
 * Exactly one of `tumbling` (size), `hopping` (size, with `advance`) or `session` (inactivity gap).
 * `grace`: how late a record may be, after its window ends, and still count (default 0).
 * `retention`: how long windows are kept in the store (default size + grace, its minimum).
 */
export interface WindowSpec {
  tumbling?: Duration
  hopping?: Duration
  advance?: Duration
  session?: Duration
  grace?: Duration
  retention?: Duration
}

export interface SinkSpec {
  name: string
  from: string
  description?: string
  kafka: TopicSettings & {
    /** A topic name, or a template whose `${…}` parts are CEL, e.g. `events.${value.event.metadata.namespace}`. */
    topic: string
    format?: Format
  }
}

export const OPERATOR_KEYS = ['filter', 'map', 'flatMap', 'keyBy', 'headers', 'count', 'reduce', 'aggregate'] as const
export type OperatorKey = (typeof OPERATOR_KEYS)[number]
