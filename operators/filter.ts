import type { OperatorFunction } from 'rxjs'
import { RecordError } from '../core/record-error.js'
import { type RecordBatch } from '../core/record.js'
import { type CompiledExpression } from '../expression/expression.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'
import { recordOperator, type StepContext } from './record-operator.js'

/**
 * Keeps the records for which `predicate` is true.
 *
 * ```yaml
 * - name: warnings
 *   from: cluster-events
 *   filter: value.event.type == "Warning"
 * ```
 * A predicate that yields anything but a bool is an error for that record (dead-lettered).
 * See also: map, flatMap, keyBy.
 */
export function filter(
  context: StepContext,
  predicate: CompiledExpression,
): OperatorFunction<RecordBatch, RecordBatch> {
  const scope = newExpressionContext()
  return recordOperator(context, (record, out) => {
    const keep = predicate.evaluate(exposeRecord(scope, record))
    if (keep === true) out.push(record)
    else if (keep !== false)
      throw new RecordError('EXPRESSION_TYPE', `filter returned ${typeName(keep)}, expected bool`)
  })
}

export function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value
}
