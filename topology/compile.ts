import { type Observable, type OperatorFunction, share, Subject } from 'rxjs'
import type { RecordCollector, TopicSpec } from '../connectors/kafka/record-collector.js'
import { projectedJson, type Serde, serdes } from '../connectors/serde/serde.js'
import { filter } from '../operators/filter.js'
import { flatMap } from '../operators/flat-map.js'
import { headers } from '../operators/headers.js'
import { keyBy } from '../operators/key-by.js'
import { map } from '../operators/map.js'
import type { RecordBatch, StreamRecord } from '../operators/record.js'
import type { RecordError } from '../operators/record-error.js'
import type { StepContext } from '../operators/record-operator.js'
import { sanitizeTopicName, to } from '../operators/to.js'
import { TopologyError } from './errors.js'
import type { SinkNode, SourceNode, StepNode, StepOperator, TopologyGraph } from './graph.js'
import { sourceFieldTree } from './value-reads.js'

/**
 * A sub-topology: one source and everything downstream of it. A task is a sub-topology on one
 * partition of its source topic (stateful steps and repartition topics will split graphs into
 * more sub-topologies; the task shape stays).
 */
export interface SubTopology {
  readonly id: number
  readonly source: SourceNode
  /** Decodes the source's values: for JSON, into only the fields the steps below read. */
  readonly valueSerde: Serde
}

export interface CompiledTopology {
  readonly graph: TopologyGraph
  readonly subTopologies: readonly SubTopology[]
  /** Output topics known before any record arrives, created at start. */
  readonly fixedTopics: ReadonlyArray<readonly [string, TopicSpec]>
}

/** What a task's pipeline writes to. */
export interface PipelineRuntime {
  readonly collector: RecordCollector
  deadLetter(record: StreamRecord, error: RecordError, step: string): void
  /** A fault that is not one record's (a producer failure): the task must stop. */
  fail(error: unknown): void
}

export function compileTopology(graph: TopologyGraph): CompiledTopology {
  const readers = new Map<string, string>()
  for (const source of graph.sources) {
    const other = readers.get(source.topic)
    if (other) throw new TopologyError('DUPLICATE_NAME', `sources "${other}" and "${source.name}" both read topic ${source.topic}`)
    readers.set(source.topic, source.name)
  }
  const fixedTopics: Array<readonly [string, TopicSpec]> = [[graph.deadLetter.topic, graph.deadLetter]]
  for (const node of graph.nodes.values()) {
    if (node.kind === 'sink' && node.topic.isStatic) fixedTopics.push([sanitizeTopicName(node.topic.source), node.topicSettings])
  }
  return { graph, subTopologies: graph.sources.map((source, id) => ({ id, source, valueSerde: valueSerdeOf(source) })), fixedTopics }
}

function valueSerdeOf(source: SourceNode): Serde {
  const fields = source.format === 'json' ? sourceFieldTree(source) : undefined
  return fields ? projectedJson(fields) : serdes[source.format]
}

/**
 * Builds the RxJS pipeline of one task: a Subject fed one batch at a time, each step an
 * operator over batches, branches shared so a step runs once however many children read it.
 */
export function buildPipeline(subTopology: SubTopology, runtime: PipelineRuntime): Subject<RecordBatch> {
  const input = new Subject<RecordBatch>()
  attachChildren(subTopology.source.children, input, runtime)
  return input
}

function attachChildren(children: ReadonlyArray<StepNode | SinkNode>, upstream: Observable<RecordBatch>, runtime: PipelineRuntime): void {
  const source = children.length > 1 ? upstream.pipe(share()) : upstream
  for (const child of children) attach(child, source, runtime)
}

function attach(node: StepNode | SinkNode, upstream: Observable<RecordBatch>, runtime: PipelineRuntime): void {
  const context: StepContext = { step: node.name, deadLetter: runtime.deadLetter }
  if (node.kind === 'sink') {
    const sink = to(context, { topic: node.topic, serde: serdes[node.format], topicSpec: node.topicSettings, collector: runtime.collector })
    upstream.pipe(sink).subscribe({ error: runtime.fail })
    return
  }
  attachChildren(node.children, upstream.pipe(operatorFor(node.operator, context)), runtime)
}

function operatorFor(operator: StepOperator, context: StepContext): OperatorFunction<RecordBatch, RecordBatch> {
  switch (operator.type) {
    case 'filter': return filter(context, operator.predicate)
    case 'map': return map(context, operator.projection)
    case 'flatMap': return flatMap(context, operator.projection)
    case 'keyBy': return keyBy(context, operator.selector)
    case 'headers': return headers(context, operator.headers)
  }
}
