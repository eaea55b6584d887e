import type { OperatorFunction } from 'rxjs'
import { type RecordBatch, withChanges } from '../core/record.js'
import { type CompiledExpression } from '../expression/expression.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'
import { recordOperator, type StepContext } from './record-operator.js'

/**
 * Replaces each record's value with the projection's result; key, headers and timestamp stay.
 *
 * ```yaml
 * - name: slim
 *   from: cluster-events
 *   map: '{"namespace": value.event.metadata.namespace, "reason": value.event.reason}'
 * ```
 * See also: flatMap, keyBy, headers.
 */
export function map(context: StepContext, projection: CompiledExpression): OperatorFunction<RecordBatch, RecordBatch> {
  const scope = newExpressionContext()
  return recordOperator(context, (record, out) => {
    out.push(withChanges(record, { value: projection.evaluate(exposeRecord(scope, record)), encodedValue: undefined }))
  })
}
