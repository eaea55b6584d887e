import type { KafkaSettings } from '../connectors/kafka/client-config.js'
import type { Format } from '../connectors/serde/serde.js'

export type { Format, KafkaSettings }

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
  /** May be empty only where a source lands its records by itself (a tracer's topic). */
  sinks?: SinkSpec[]
}

/**
 * `at_least_once`: outputs are flushed before input offsets are committed; a crash repeats records.
 * `exactly_once`: outputs, changelog records and input offsets commit in one Kafka transaction.
 */
export type ProcessingGuarantee = 'at_least_once' | 'exactly_once'

export type MetricsRecordingLevel = 'INFO' | 'DEBUG' | 'TRACE'

export interface ProcessingSettings {
  guarantee?: ProcessingGuarantee
  /** How often the producer is flushed and processed positions committed (Kafka Streams' commit.interval.ms). */
  commitIntervalMs?: number
  /** Largest batch the consumer hands to the tasks in one go. */
  maxBatchSize?: number
  /**
   * Store changes a replica's tasks may hold between two commits: reaching it commits before the
   * interval is up. Changes wait in memory until the commit sends them to the changelogs and LMDB,
   * so this bounds that memory however fast the machine processes, as Kafka Streams'
   * statestore.cache.max.bytes bounds its record caches. Default 25000.
   */
  maxBufferedChanges?: number
  /** How long shutdown may take before the process gives up on a clean flush. */
  shutdownTimeoutMs?: number
  /**
   * How long a task that joins a stream and a table waits for an input that has nothing
   * buffered but is not caught up, before it processes the other without it (Kafka Streams'
   * max.task.idle.ms). Default 500. An input never fetched yet is waited for regardless (KIP-695).
   */
  maxTaskIdleMs?: number
  /**
   * How often each replica deletes, from the repartition topics it reads, the records its group
   * has committed (Kafka Streams' repartition.purge.interval.ms). Repartition topics are kept
   * forever otherwise (retention.ms -1), so records with old event times are never deleted
   * before they are read. Default 30000.
   */
  repartitionPurgeIntervalMs?: number
  /**
   * Kafka Streams' metrics.recording.level: INFO (the default) exposes the stream thread's
   * metrics, tasks' dropped records and sinks' end-to-end latency; DEBUG (or TRACE) adds the
   * tasks' process totals and the state stores' put, get and restore metrics.
   */
  metricsRecordingLevel?: MetricsRecordingLevel
  /**
   * Kafka Streams' num.standby.replicas. Above 0, each replica keeps warm copies of the stores
   * of the tasks it does not run, tailing their changelogs, so a task that moves to it restores
   * only the last moments. librdkafka shows no member the group's whole assignment, so copies
   * cannot be placed one by one: every replica keeps a copy of every store partition it does
   * not run (with R replicas, R - 1 copies). Default 0.
   */
  standbyReplicas?: number
  /**
   * Where stores live on local disk (Kafka Streams' state.dir); `--state-dir` or $KUBESTREAM_STATE_DIR win; default
   * /tmp/kubestream.
   */
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

/** A source reads exactly one of: a Kafka topic, a node's network tracer, or the Kubernetes API. */
export interface SourceSpec {
  name: string
  description?: string
  kafka?: {
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
  /**
   * Read the topic as a table (Kafka Streams' KTable): the latest value per key, a null value
   * (tombstone) deleting the key. Joins look records up in it; it feeds no steps.
   */
  table?: TableSpec
  tracer?: TracerSourceSpec
  kubernetes?: KubernetesSourceSpec
}

/**
 * A node's network tracer (../shared/samples/tracer-connections.json): one record per
 * connection per document, keyed `source|dest|sport|dport`, carrying the deltas of its
 * counters since the previous document. The records land in `topic`, which the steps read like
 * a Kafka source. Exactly one of `socket`, `ndjsonFile`, `ndjsonSocket`.
 */
export interface TracerSourceSpec {
  /** The tracer's unix socket, polled with `GET <path>` (HTTP) every `interval`. */
  socket?: string
  /** A file of /connections documents, one per line, followed as it grows. */
  ndjsonFile?: string
  /** A unix socket on which the tracer streams /connections documents, one per line. */
  ndjsonSocket?: string
  /** Default `/connections`. */
  path?: string
  /** Default 5s. */
  interval?: Duration
  /** A tracer that has not answered in full after this long has failed; default 10s. */
  timeout?: Duration
  /** Longest wait between retries of a failing tracer; default 30s. */
  maxBackoff?: Duration
  /** The node the connections were seen on; default $NODE_NAME, then the host name. */
  node?: string
  /** Keep connections whose both ends are loopback; default false. */
  keepLoopback?: boolean
  /** The state store of the last counters per connection; default `<source name>-counters`. */
  store?: string
  /** Where the connection records land (created if missing). */
  topic: string
  partitions?: number
  replicationFactor?: number
  config?: Record<string, string | number>
}

/** What a Kubernetes source lists and watches. */
export type KubernetesResource = 'events' | 'events.k8s.io' | 'pods' | 'services' | 'nodes'

/**
 * The Kubernetes API as a source (list + watch). `events` and `events.k8s.io` land the event
 * router's envelope (`{"verb": "ADDED" | "UPDATED" | "DELETED", "event", "old_event"}`) keyed by
 * the event's uid; `pods`, `services` and `nodes` land table rows keyed by IP (upserts and
 * tombstones; write them to a compacted topic). What was landed is remembered per object in a
 * state store (with a compacted changelog), so a restart or a re-list lands only what changed.
 */
export interface KubernetesSourceSpec {
  resource: KubernetesResource
  /** Where the records land (created if missing). */
  topic: string
  /** Only these namespaces; default all. */
  namespaces?: string[]
  labelSelector?: string
  /** Pods only: only pods scheduled on this node (`spec.nodeName`), for a per-node deployment. */
  node?: string
  /** Default: $KUBECONFIG, ~/.kube/config, then the pod's service account. */
  kubeconfig?: string
  /**
   * One replica at a time runs the watch, elected through a coordination.k8s.io/v1 Lease.
   * Default on (lease `<application id>-<source name>` in $POD_NAMESPACE, else `default`; 15s),
   * off in the node-scoped mode.
   */
  leaderElection?: boolean | { lease?: string; namespace?: string; duration?: Duration }
  /** What was landed per object; default `<source name>-landed`. */
  store?: string
  /** Longest wait between retries; default 30s. */
  maxBackoff?: Duration
  /** The server ends each watch after about this long, and it resumes; default 5m. */
  watchTimeout?: Duration
  /** A watch silent this long (no event, no bookmark) is reconnected; default 2m. */
  idleTimeout?: Duration
  partitions?: number
  replicationFactor?: number
  config?: Record<string, string | number>
}

export interface TableSpec {
  /** The store's name; defaults to the source name. */
  store?: string
  /**
   * A global table (Kafka Streams' GlobalKTable) is read whole by every replica, so a join may
   * look it up by any key a CEL expression computes. A table that is not global is
   * co-partitioned with the streams joined to it: they are looked up by their record key.
   */
  global?: boolean
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
  /**
   * Fold values into an aggregate that starts as `initializer` and becomes `adder` (CEL over
   * `aggregate`, `value`, `key`). Session windows also need `merger`: the aggregate of two
   * sessions a record joins, CEL over `aggregate` (the earlier) and `value` (the later).
   */
  aggregate?: AggregationSpec & { initializer: string; adder: string; merger?: string }
  /** Enrich each record with what a table holds for its key (Kafka Streams' KStream-KTable join). */
  join?: JoinSpec
}

export interface JoinSpec {
  /** The name of a source read as a table. */
  table: string
  /** `inner` (default) drops records the table has nothing for; `left` keeps them with `table` null. */
  type?: 'inner' | 'left'
  /** CEL for the key to look up; global tables only. Defaults to the record key. */
  key?: string
  /** CEL for the joined value over `value`, `key` and `table`; defaults to `{"value": value, "table": table}`. */
  value?: string
  /** How the repartition topic in front of this join is created, when a keyBy upstream needs one. */
  repartition?: { partitions?: number }
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

export const OPERATOR_KEYS = [
  'filter',
  'map',
  'flatMap',
  'keyBy',
  'headers',
  'count',
  'reduce',
  'aggregate',
  'join',
] as const
export type OperatorKey = (typeof OPERATOR_KEYS)[number]
