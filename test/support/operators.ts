import { lastValueFrom, of, type OperatorFunction, toArray } from 'rxjs'
import type { RecordError } from '../../core/record-error.js'
import type { RecordBatch, StreamRecord } from '../../core/record.js'
import type { StepContext } from '../../operators/record-operator.js'
import type { AggregateOperator } from '../../topology/graph.js'
import { loadTopology } from '../../topology/load.js'

/** The operator of a one-step topology, as the loader builds it. */
export function stepOperator(step: string): AggregateOperator {
  const graph = loadTopology(
    `
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: t }
spec:
  sources: [{ name: in, kafka: { topic: in } }]
  steps:
    - name: s
      from: in
${step
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}
  sinks: [{ name: out, from: s, kafka: { topic: out } }]
`,
    't.yaml',
    {},
  )
  const node = graph.nodes.get('s')
  if (node?.kind !== 'step' || node.operator.type !== 'aggregate') throw new Error('not an aggregation')
  return node.operator
}

export function harness() {
  const dead: Array<{ record: StreamRecord; error: RecordError }> = []
  const context: StepContext = { step: 's', deadLetter: (r, error) => dead.push({ record: r, error }) }
  const run = async (operator: OperatorFunction<RecordBatch, RecordBatch>, ...batches: RecordBatch[]) =>
    (await lastValueFrom(of(...batches).pipe(operator, toArray()))).flat()
  return { dead, context, run }
}
