import type { CompiledExpression } from '../expression/expression.js'
import type { DocumentPath, Fail } from './document-path.js'
import type { JoinOperator, SinkNode, SourceNode, StepNode } from './graph.js'
import type { StepSpec } from './spec.js'

const DEFAULT_JOINED_VALUE = '{"value": value, "table": table}'

/** The operator of a join step: its table must be a source read as a table, a computed key needs a global one. */
export function joinOperator(
  step: StepSpec,
  at: DocumentPath,
  expression: (s: string, p: DocumentPath) => CompiledExpression,
  fail: Fail,
  sources: SourceNode[],
): JoinOperator {
  const spec = step.join!
  const table = sources.find((source) => source.name === spec.table)
  if (!table?.table) {
    const tables = sources.filter((s) => s.table).map((s) => `"${s.name}"`)
    const hint = tables.length ? ` (tables: ${tables.join(', ')})` : '; give a source `table: {}`'
    fail('JOIN', `step "${step.name}" joins "${spec.table}", which is not a source read as a table${hint}`, [
      ...at,
      'table',
    ])
  }
  const { store, global } = table.table
  if (spec.key !== undefined && !global) {
    fail(
      'JOIN',
      `step "${step.name}" looks "${spec.table}" up by a computed key, which needs a global table (table: { ` +
        `global: true }); or keyBy before the join`,
      [...at, 'key'],
    )
  }
  return {
    type: 'join',
    table: spec.table,
    store,
    global,
    joinType: spec.type ?? 'inner',
    key: spec.key === undefined ? undefined : expression(spec.key, [...at, 'key']),
    value: expression(spec.value ?? DEFAULT_JOINED_VALUE, [...at, spec.value === undefined ? 'table' : 'value']),
    repartitionPartitions: spec.repartition?.partitions,
  }
}

/** A table is read by joins; a step or sink reading it as a stream is a mistake the user should hear of. */
export function rejectTableChildren(sources: SourceNode[], steps: StepNode[], sinks: SinkNode[], fail: Fail): void {
  const readers: Array<[StepNode | SinkNode, DocumentPath]> = [
    ...steps.map((s, i) => [s, ['spec', 'steps', i, 'from']] as [StepNode, DocumentPath]),
    ...sinks.map((s, i) => [s, ['spec', 'sinks', i, 'from']] as [SinkNode, DocumentPath]),
  ]
  for (const [node, path] of readers) {
    const source = sources.find((s) => s.name === node.from)
    if (source?.table)
      fail('JOIN', `"${node.name}" reads "${source.name}", a table; tables are read by join steps only`, path)
  }
  sources.forEach((source, i) => {
    if (source.table && !steps.some((s) => s.operator.type === 'join' && s.operator.table === source.name)) {
      fail('JOIN', `table "${source.name}" is joined by no step`, ['spec', 'sources', i, 'table'])
    }
  })
}
