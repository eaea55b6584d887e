import type { TopologyGraph } from './graph.js'
import { graphFromDocument } from './load.js'
import {
  type AggregationSpec,
  API_VERSION,
  type DeadLetterSettings,
  type JoinSpec,
  type KafkaSettings,
  type KubernetesSourceSpec,
  type ProcessingSettings,
  type SinkSpec,
  type SourceSpec,
  type StepSpec,
  type TableSpec,
  type TopologyDocument,
  type TracerSourceSpec,
} from './spec.js'

export interface TopologyOptions {
  kafka?: KafkaSettings
  processing?: ProcessingSettings
  deadLetter?: DeadLetterSettings
}

/**
 * The typed way to write a topology in code; it produces the same document (and so the same
 * graph, checks and errors) as the YAML.
 *
 * ```ts
 * const topology = new TopologyBuilder('events-fanout', { kafka: { bootstrapServers: 'localhost:9092' } })
 * topology
 *   .source('cluster-events', { topic: 'cluster-events' })
 *   .filter('warnings', 'value.event.type == "Warning"')
 *   .keyBy('by-uid', 'value.event.metadata.uid')
 *   .to('per-namespace', { topic: 'warnings.${value.event.metadata.namespace}', partitions: 3 })
 * const graph = topology.build()
 * ```
 */
export class TopologyBuilder {
  private readonly sources: SourceSpec[] = []
  private readonly steps: StepSpec[] = []
  private readonly sinks: SinkSpec[] = []

  constructor(
    readonly applicationId: string,
    private readonly options: TopologyOptions = {},
  ) {}

  source(name: string, kafka: NonNullable<SourceSpec['kafka']>, description?: string): StreamBuilder {
    this.sources.push({ name, kafka, ...(description ? { description } : {}) })
    return new StreamBuilder(this, name)
  }

  /** A topic read as a table (latest value per key); streams join it by name. */
  table(name: string, kafka: NonNullable<SourceSpec['kafka']>, table: TableSpec = {}): string {
    this.sources.push({ name, kafka, table })
    return name
  }

  /** A node's network tracer: connection deltas land in `tracer.topic` and flow on from there. */
  tracer(name: string, tracer: TracerSourceSpec, description?: string): StreamBuilder {
    this.sources.push({ name, tracer, ...(description ? { description } : {}) })
    return new StreamBuilder(this, name)
  }

  /**
   * The Kubernetes API (list + watch): events as envelopes, or pods, services, nodes as rows by IP, land in
   * `kubernetes.topic`.
   */
  kubernetes(name: string, kubernetes: KubernetesSourceSpec, description?: string): StreamBuilder {
    this.sources.push({ name, kubernetes, ...(description ? { description } : {}) })
    return new StreamBuilder(this, name)
  }

  /** The document the YAML would hold; `yaml.stringify` it to get a file. */
  toDocument(): TopologyDocument {
    const { kafka, processing, deadLetter } = this.options
    return {
      apiVersion: API_VERSION,
      kind: 'Topology',
      metadata: { name: this.applicationId },
      spec: {
        ...(kafka ? { kafka } : {}),
        ...(processing ? { processing } : {}),
        ...(deadLetter ? { deadLetter } : {}),
        sources: structuredClone(this.sources),
        steps: structuredClone(this.steps),
        sinks: structuredClone(this.sinks),
      },
    }
  }

  /** Validates and compiles, as loading the YAML would; throws TopologyError. */
  build(): TopologyGraph {
    return graphFromDocument(this.toDocument())
  }

  /** @internal */
  addStep(step: StepSpec): void {
    this.steps.push(step)
  }

  /** @internal */
  addSink(sink: SinkSpec): void {
    this.sinks.push(sink)
  }
}

/** The output of a source or step, to which further steps and sinks attach. */
export class StreamBuilder {
  constructor(
    private readonly topology: TopologyBuilder,
    readonly name: string,
  ) {}

  filter(name: string, predicate: string): StreamBuilder {
    return this.step({ name, from: this.name, filter: predicate })
  }

  map(name: string, projection: string): StreamBuilder {
    return this.step({ name, from: this.name, map: projection })
  }

  flatMap(name: string, projection: string): StreamBuilder {
    return this.step({ name, from: this.name, flatMap: projection })
  }

  keyBy(name: string, selector: string): StreamBuilder {
    return this.step({ name, from: this.name, keyBy: selector })
  }

  headers(name: string, headers: Record<string, string>): StreamBuilder {
    return this.step({ name, from: this.name, headers })
  }

  /** Records per key (and window); emits the count as the new value. */
  count(name: string, options: AggregationSpec = {}): StreamBuilder {
    return this.step({ name, from: this.name, count: options })
  }

  /** Combines values per key with a CEL `reducer` over `aggregate` and `value`. */
  reduce(name: string, reducer: string, options: AggregationSpec = {}): StreamBuilder {
    return this.step({ name, from: this.name, reduce: { ...options, reducer } })
  }

  /**
   * Folds values per key: starts at `initializer`, then each record gives `adder` (CEL over `aggregate`, `value`,
   * `key`).
   */
  aggregate(name: string, fold: { initializer: string; adder: string }, options: AggregationSpec = {}): StreamBuilder {
    return this.step({ name, from: this.name, aggregate: { ...options, ...fold } })
  }

  /** Enriches each record with what `join.table` holds for its key (or `join.key`, global tables only). */
  join(name: string, join: JoinSpec): StreamBuilder {
    return this.step({ name, from: this.name, join })
  }

  to(name: string, kafka: SinkSpec['kafka']): void {
    this.topology.addSink({ name, from: this.name, kafka })
  }

  private step(step: StepSpec): StreamBuilder {
    this.topology.addStep(step)
    return new StreamBuilder(this.topology, step.name)
  }
}
