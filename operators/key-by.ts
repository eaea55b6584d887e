import type { OperatorFunction } from 'rxjs'
import { RecordError } from '../core/record-error.js'
import { type RecordBatch, withChanges } from '../core/record.js'
import { type CompiledExpression } from '../expression/expression.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'
import { recordOperator, type StepContext } from './record-operator.js'

/**
 * Gives each record a new key; the value (and its bytes) are untouched.
 * A null key is an error: Kafka would spread such records over partitions at random.
 *
 * ```yaml
 * - name: by-namespace
 *   from: cluster-events
 *   keyBy: value.event.metadata.namespace
 * ```
 * When a stateful step follows, the graph compiler will add a repartition topic after keyBy.
 * See also: map, headers.
 */
export function keyBy(context: StepContext, selector: CompiledExpression): OperatorFunction<RecordBatch, RecordBatch> {
  const scope = newExpressionContext()
  return recordOperator(context, (record, out) => {
    const key = selector.evaluate(exposeRecord(scope, record))
    if (key === null || key === undefined) throw new RecordError('EXPRESSION_TYPE', 'keyBy returned null')
    out.push(withChanges(record, { key }))
  })
}
