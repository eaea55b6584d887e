import type { CompiledExpression } from '../expression/expression.js'
import type { DocumentPath, Fail } from './document-path.js'
import { durationMs } from './duration.js'
import type { AggregateOperator, WindowDefinition } from './graph.js'
import type { AggregationSpec, StepSpec, WindowSpec } from './spec.js'

type Compile = (source: string, path: DocumentPath) => CompiledExpression

/** The operator of a count, reduce or aggregate step, its window checked. */
export function aggregateOperator(
  step: StepSpec,
  kind: AggregateOperator['kind'],
  path: DocumentPath,
  expression: Compile,
  fail: Fail,
): AggregateOperator {
  const at = [...path, kind]
  const spec = step[kind] as AggregationSpec
  const window = spec.window && windowDefinition(spec.window, [...at, 'window'], fail)
  const emit = spec.emit ?? 'onUpdate'
  if (emit === 'onWindowClose' && !window)
    fail('WINDOW', `step "${step.name}" emits onWindowClose but has no window`, [...at, 'emit'])
  const common = {
    type: 'aggregate' as const,
    kind,
    store: spec.store ?? step.name,
    window,
    emit,
    repartitionPartitions: spec.repartition?.partitions,
  }
  switch (kind) {
    case 'count':
      return common
    case 'reduce':
      return { ...common, adder: expression(step.reduce!.reducer, [...at, 'reducer']) }
    case 'aggregate': {
      const { initializer, adder, merger } = step.aggregate!
      if (window?.type === 'session' && merger === undefined) {
        fail(
          'WINDOW',
          `step "${step.name}" aggregates in session windows and needs merger: how two sessions' aggregates ` +
            `become one when a record joins them`,
          at,
        )
      }
      return {
        ...common,
        initializer: expression(initializer, [...at, 'initializer']),
        adder: expression(adder, [...at, 'adder']),
        merger: merger === undefined ? undefined : expression(merger, [...at, 'merger']),
      }
    }
  }
}

function windowDefinition(spec: WindowSpec, at: DocumentPath, fail: Fail): WindowDefinition {
  const kinds = (['tumbling', 'hopping', 'session'] as const).filter((k) => spec[k] !== undefined)
  if (kinds.length !== 1)
    fail(
      'WINDOW',
      `a window is exactly one of tumbling, hopping or session${kinds.length ? `, not ${kinds.join(' and ')}` : ''}`,
      at,
    )
  const [type] = kinds
  const grace = durationMs(spec.grace ?? 0)
  if (spec.advance !== undefined && type !== 'hopping')
    fail('WINDOW', 'advance applies to hopping windows only', [...at, 'advance'])
  if (type === 'session') {
    const gap = durationMs(spec.session!)
    if (gap <= 0) fail('WINDOW', 'a session gap must be more than 0', [...at, 'session'])
    return { type: 'session', gap, grace, retention: retention(spec, gap + grace, at, fail) }
  }
  const size = durationMs(spec[type]!)
  if (size <= 0) fail('WINDOW', 'a window size must be more than 0', [...at, type])
  if (type === 'hopping' && spec.advance === undefined)
    fail('WINDOW', 'a hopping window needs advance (how far each window starts after the last)', at)
  const advance = type === 'hopping' ? durationMs(spec.advance!) : size
  if (advance <= 0 || advance > size)
    fail('WINDOW', `advance must be more than 0 and at most the size (${size} ms)`, [...at, 'advance'])
  return { type: 'hopping', size, advance, grace, retention: retention(spec, size + grace, at, fail) }
}

/** A window must stay in the store at least until it closes. */
function retention(spec: WindowSpec, minimum: number, at: DocumentPath, fail: Fail): number {
  if (spec.retention === undefined) return minimum
  const ms = durationMs(spec.retention)
  if (ms < minimum)
    fail('WINDOW', `retention (${ms} ms) must be at least the window's size plus grace (${minimum} ms)`, [
      ...at,
      'retention',
    ])
  return ms
}
