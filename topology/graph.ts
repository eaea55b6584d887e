import type { CompiledExpression } from '../expression/expression.js'
import type { CompiledTemplate } from '../expression/template.js'
import type {
  DeadLetterSettings,
  Format,
  KafkaSettings,
  KubernetesResource,
  ProcessingSettings,
  TopicSettings,
} from './spec.js'

/**
 * The logical topology: named nodes wired parent → children, expressions compiled.
 * It holds no runtime objects; `compile.ts` turns it into tasks.
 */
export interface TopologyGraph {
  readonly applicationId: string
  readonly kafka: KafkaSettings
  readonly processing: Required<Omit<ProcessingSettings, 'stateDir'>> & Pick<ProcessingSettings, 'stateDir'>
  readonly deadLetter: Required<Pick<DeadLetterSettings, 'topic'>> & TopicSettings
  readonly sources: SourceNode[]
  /** Every node by name. */
  readonly nodes: ReadonlyMap<string, GraphNode>
}

export type GraphNode = SourceNode | StepNode | SinkNode

interface NodeBase {
  readonly name: string
  readonly description?: string
  readonly children: Array<StepNode | SinkNode>
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source'
  readonly topic: string
  readonly format: Format
  readonly startOffset: 'earliest' | 'latest'
  /** The record's event time, when not the Kafka timestamp. */
  readonly timestamp?: CompiledExpression
  /** Set when the topic is read as a table: its store, and whether every replica reads all of it. */
  readonly table?: { readonly store: string; readonly global: boolean }
  /** Set when a network tracer feeds the topic: this replica lands its records there (unless told not to ingest). */
  readonly tracer?: TracerSettings
  /** Set when the Kubernetes API feeds the topic (list + watch), landed by this replica unless told not to ingest. */
  readonly kubernetes?: KubernetesSettings
}

export interface KubernetesSettings {
  readonly resource: KubernetesResource
  /** Empty: all namespaces. */
  readonly namespaces: readonly string[]
  readonly labelSelector?: string
  readonly node?: string
  readonly kubeconfig?: string
  /** Unset: every replica that ingests runs the watch (the node-scoped mode). */
  readonly lease?: { readonly name: string; readonly namespace: string; readonly durationMs: number }
  readonly store: string
  /**
   * The store's compacted changelog (`<application id>-<store>-changelog`); unset in the node-scoped mode, whose state
   * stays on its node.
   */
  readonly changelogTopic?: string
  readonly maxBackoffMs: number
  readonly watchTimeoutSeconds: number
  readonly idleTimeoutMs: number
  readonly topicSettings: TopicSettings
}

export interface TracerSettings {
  /** http: polled over HTTP on a unix socket; file: NDJSON followed; socket: NDJSON streamed on a unix socket. */
  readonly mode: 'http' | 'file' | 'socket'
  /** The socket's or file's path. */
  readonly address: string
  readonly path: string
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly maxBackoffMs: number
  readonly node?: string
  readonly keepLoopback: boolean
  readonly store: string
  /** How the landing topic is created. */
  readonly topicSettings: TopicSettings
}

export type StepOperator =
  | { type: 'filter'; predicate: CompiledExpression }
  | { type: 'map'; projection: CompiledExpression }
  | { type: 'flatMap'; projection: CompiledExpression }
  | { type: 'keyBy'; selector: CompiledExpression }
  | { type: 'headers'; headers: ReadonlyArray<readonly [string, CompiledExpression]> }
  | AggregateOperator
  | JoinOperator

/** A stream–table join: each record looks its key (or a computed one, global tables only) up in the table. */
export interface JoinOperator {
  readonly type: 'join'
  /** The table source's name, and its store. */
  readonly table: string
  readonly store: string
  readonly global: boolean
  readonly joinType: 'inner' | 'left'
  readonly key?: CompiledExpression
  /** The joined value, over `value`, `key` and `table`. */
  readonly value: CompiledExpression
  readonly repartitionPartitions?: number
}

/** count, reduce and aggregate: the stateful steps. Each owns one store. */
export interface AggregateOperator {
  readonly type: 'aggregate'
  readonly kind: 'count' | 'reduce' | 'aggregate'
  readonly store: string
  /** The aggregate of the first record of a key (count: 1; reduce: the value; aggregate: initializer, then adder). */
  readonly initializer?: CompiledExpression
  /** The next aggregate from `aggregate` and `value`; count has none. */
  readonly adder?: CompiledExpression
  /** Session windows: two sessions' aggregates as one (`aggregate` the earlier, `value` the later). */
  readonly merger?: CompiledExpression
  readonly window?: WindowDefinition
  readonly emit: 'onUpdate' | 'onWindowClose'
  readonly repartitionPartitions?: number
}

/** Windows in milliseconds. Tumbling windows are hopping windows whose advance is their size. */
export type WindowDefinition =
  | {
      readonly type: 'hopping'
      readonly size: number
      readonly advance: number
      readonly grace: number
      readonly retention: number
    }
  | { readonly type: 'session'; readonly gap: number; readonly grace: number; readonly retention: number }

export interface StepNode extends NodeBase {
  readonly kind: 'step'
  readonly from: string
  readonly operator: StepOperator
}

export interface SinkNode extends Omit<NodeBase, 'children'> {
  readonly kind: 'sink'
  readonly from: string
  readonly topic: CompiledTemplate
  readonly format: Format
  readonly topicSettings: TopicSettings
  readonly children: never[]
}
