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

export type ProcessingGuarantee = 'at_least_once'

export interface ProcessingSettings {
  guarantee?: ProcessingGuarantee
  /** How often the producer is flushed and processed positions committed (Kafka Streams' commit.interval.ms). */
  commitIntervalMs?: number
  /** Largest batch the consumer hands to the tasks in one go. */
  maxBatchSize?: number
  /** How long shutdown may take before the process gives up on a clean flush. */
  shutdownTimeoutMs?: number
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

export const OPERATOR_KEYS = ['filter', 'map', 'flatMap', 'keyBy', 'headers'] as const
export type OperatorKey = (typeof OPERATOR_KEYS)[number]
