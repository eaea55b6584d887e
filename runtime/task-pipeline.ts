import { type Observable, type OperatorFunction, share, Subject } from 'rxjs'
import { serdes } from '../connectors/serde/serde.js'
import type { RecordCollector } from '../core/record-collector.js'
import type { DeadLetter } from '../core/record-error.js'
import type { RecordBatch } from '../core/record.js'
import type { WindowedStats } from '../core/windowed-stats.js'
import { compileTemplate } from '../expression/template.js'
import { aggregate } from '../operators/aggregate.js'
import { filter } from '../operators/filter.js'
import { flatMap } from '../operators/flat-map.js'
import { headers } from '../operators/headers.js'
import { join } from '../operators/join.js'
import { keyBy } from '../operators/key-by.js'
import { map } from '../operators/map.js'
import type { StepContext } from '../operators/record-operator.js'
import { sessionAggregate } from '../operators/session-aggregate.js'
import { toTable } from '../operators/to-table.js'
import { to } from '../operators/to.js'
import { type WindowCounters, windowedAggregate } from '../operators/windowed-aggregate.js'
import type { KeyValueStore } from '../state/key-value-store.js'
import type { SessionStore } from '../state/session-store.js'
import type { WindowStore } from '../state/window-store.js'
import type { CompiledTopology, RepartitionDefinition, SubTopology } from '../topology/compile.js'
import type { AggregateOperator, SinkNode, StepNode, StepOperator } from '../topology/graph.js'

/** What a task's pipeline writes to and reads its state from. */
export interface PipelineRuntime {
  readonly collector: RecordCollector
  readonly deadLetter: DeadLetter
  /** A fault that is not one record's (a producer failure): the task must stop. */
  readonly fail: (error: unknown) => void
  keyValueStore(name: string): KeyValueStore
  windowStore(name: string): WindowStore
  sessionStore(name: string): SessionStore
  /** A global table's store, shared by every task of this replica. */
  globalTable(name: string): KeyValueStore
  readonly windowCounters: WindowCounters
  /** Where steps add up the time they take. */
  readonly processMs?: Map<string, number>
  /** Where steps count the records they are handed. */
  readonly stepRecords?: Map<string, number>
  /** The end-to-end latency of records leaving by a sink, shared by every task. */
  readonly e2eLatency?: (sink: string) => WindowedStats
}

/**
 * Builds the RxJS pipeline of one task: a Subject per input topic fed one batch at a time, each
 * step an operator over batches, branches shared so a step runs once however many children
 * read it. An edge into a stateful step that needs re-partitioning becomes a write to its
 * repartition topic; the step itself runs in the sub-topology that reads that topic.
 */
export function buildPipeline(
  compiled: CompiledTopology,
  subTopology: SubTopology,
  runtime: PipelineRuntime,
): Map<string, Subject<RecordBatch>> {
  const inputs = new Map<string, Subject<RecordBatch>>()
  for (const { source, repartition } of subTopology.inputs) {
    const subject = new Subject<RecordBatch>()
    inputs.set(source.topic, subject)
    if (source.table) {
      subject
        .pipe(toTable({ step: source.name, deadLetter: runtime.deadLetter }, runtime.keyValueStore(source.table.store)))
        .subscribe({ error: runtime.fail })
      continue
    }
    // The source side of a repartition topic feeds its step directly, not through another cut.
    const cuts = repartition
      ? new Map([...compiled.repartitionBefore].filter(([step]) => step !== repartition.step))
      : compiled.repartitionBefore
    attachChildren(source.children, subject, runtime, cuts)
  }
  return inputs
}

type Cuts = ReadonlyMap<string, RepartitionDefinition>

function attachChildren(
  children: ReadonlyArray<StepNode | SinkNode>,
  upstream: Observable<RecordBatch>,
  runtime: PipelineRuntime,
  cuts: Cuts,
): void {
  const source = children.length > 1 ? upstream.pipe(share()) : upstream
  for (const child of children) attach(child, source, runtime, cuts)
}

function attach(
  node: StepNode | SinkNode,
  upstream: Observable<RecordBatch>,
  runtime: PipelineRuntime,
  cuts: Cuts,
): void {
  const context: StepContext = {
    step: node.name,
    deadLetter: runtime.deadLetter,
    processMs: runtime.processMs,
    stepRecords: runtime.stepRecords,
  }
  const repartition = cuts.get(node.name)
  if (repartition) {
    // Counted as the repartition topic's records produced, not as the step's, which counts what it reads.
    const sink = to(
      { ...context, stepRecords: undefined },
      {
        topic: compileTemplate(repartition.topic),
        serde: serdes[repartition.format],
        topicSpec: {},
        collector: runtime.collector,
      },
    )
    upstream.pipe(sink).subscribe({ error: runtime.fail })
    return
  }
  if (node.kind === 'sink') {
    const sink = to(
      { ...context, e2eLatency: runtime.e2eLatency?.(node.name) },
      {
        topic: node.topic,
        serde: serdes[node.format],
        topicSpec: node.topicSettings,
        collector: runtime.collector,
      },
    )
    upstream.pipe(sink).subscribe({ error: runtime.fail })
    return
  }
  attachChildren(node.children, upstream.pipe(operatorFor(node.operator, context, runtime)), runtime, cuts)
}

function operatorFor(
  operator: StepOperator,
  context: StepContext,
  runtime: PipelineRuntime,
): OperatorFunction<RecordBatch, RecordBatch> {
  switch (operator.type) {
    case 'filter':
      return filter(context, operator.predicate)
    case 'map':
      return map(context, operator.projection)
    case 'flatMap':
      return flatMap(context, operator.projection)
    case 'keyBy':
      return keyBy(context, operator.selector)
    case 'headers':
      return headers(context, operator.headers)
    case 'aggregate':
      return aggregationFor(operator, context, runtime)
    case 'join':
      return join(
        context,
        operator,
        operator.global ? runtime.globalTable(operator.store) : runtime.keyValueStore(operator.store),
      )
  }
}

function aggregationFor(
  operator: AggregateOperator,
  context: StepContext,
  runtime: PipelineRuntime,
): OperatorFunction<RecordBatch, RecordBatch> {
  const { window } = operator
  if (!window) return aggregate(context, operator, runtime.keyValueStore(operator.store))
  if (window.type === 'session')
    return sessionAggregate(context, operator, window, runtime.sessionStore(operator.store), runtime.windowCounters)
  return windowedAggregate(context, operator, window, runtime.windowStore(operator.store), runtime.windowCounters)
}
