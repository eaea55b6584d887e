import type { OperatorFunction } from 'rxjs'
import { RecordError } from '../core/record-error.js'
import { type RecordBatch, withChanges } from '../core/record.js'
import { type CompiledExpression } from '../expression/expression.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'
import { typeName } from './filter.js'
import { recordOperator, type StepContext } from './record-operator.js'

/**
 * Replaces each record with one record per element of the list the projection returns
 * (none for an empty list); each keeps the key, headers and timestamp of its input.
 *
 * ```yaml
 * - name: containers
 *   from: pods
 *   flatMap: value.spec.containers
 * ```
 * See also: map, filter.
 */
export function flatMap(
  context: StepContext,
  projection: CompiledExpression,
): OperatorFunction<RecordBatch, RecordBatch> {
  const scope = newExpressionContext()
  return recordOperator(context, (record, out) => {
    const values = projection.evaluate(exposeRecord(scope, record))
    if (!Array.isArray(values))
      throw new RecordError('EXPRESSION_TYPE', `flatMap returned ${typeName(values)}, expected list`)
    for (const value of values) out.push(withChanges(record, { value, encodedValue: undefined }))
  })
}
