import { RecordError } from '../core/record-error.js'
import type { StreamRecord } from '../core/record.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'
import type { AggregateOperator } from '../topology/graph.js'

/** The next aggregate of a key (or window) from the current one (undefined for the first record). */
export type Fold = (current: unknown, record: StreamRecord) => unknown

/**
 * The fold of count, reduce and aggregate, shared by their windowed and unwindowed forms:
 * count adds one; reduce starts from the first value and applies the reducer; aggregate starts
 * from the initializer and applies the adder. Expressions see `aggregate` and the record.
 */
export function foldOf(operator: AggregateOperator): Fold {
  const scope = newExpressionContext()
  const { adder, initializer } = operator
  switch (operator.kind) {
    case 'count':
      return (current) => (typeof current === 'number' ? current : 0) + 1
    case 'reduce':
      return (current, record) => {
        if (current === undefined) return record.value
        scope.aggregate = current
        return adder!.evaluate(exposeRecord(scope, record))
      }
    case 'aggregate':
      return (current, record) => {
        exposeRecord(scope, record)
        scope.aggregate = null
        scope.aggregate = current === undefined ? initializer!.evaluate(scope) : current
        return adder!.evaluate(scope)
      }
  }
}

/** Two sessions' aggregates as one, the earlier first: count adds, reduce applies its reducer, aggregate its merger. */
export function mergeOf(operator: AggregateOperator): (earlier: unknown, later: unknown) => unknown {
  const scope = newExpressionContext()
  if (operator.kind === 'count') return (earlier, later) => (earlier as number) + (later as number)
  const merger = operator.kind === 'reduce' ? operator.adder! : operator.merger!
  return (earlier, later) => {
    scope.aggregate = earlier
    scope.value = later
    return merger.evaluate(scope)
  }
}

/** Aggregations group by key: a record without one cannot be counted anywhere. */
export function groupKey(record: StreamRecord): string {
  const { key } = record
  if (key === null || key === undefined)
    throw new RecordError('NULL_KEY', 'an aggregation needs a key; this record has none (keyBy first)')
  return typeof key === 'string' ? key : JSON.stringify(key)
}
