import type { OperatorFunction } from 'rxjs'
import { type RecordBatch, withChanges } from '../core/record.js'
import { type CompiledExpression } from '../expression/expression.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'
import { recordOperator, type StepContext } from './record-operator.js'

/**
 * Sets record headers from expressions; a null result removes the header. Non-string results
 * are written as their JSON text. Headers travel with the record to every sink.
 *
 * ```yaml
 * - name: tag
 *   from: cluster-events
 *   headers:
 *     reason: value.event.reason
 * ```
 * See also: keyBy, map.
 */
export function headers(
  context: StepContext,
  setters: ReadonlyArray<readonly [string, CompiledExpression]>,
): OperatorFunction<RecordBatch, RecordBatch> {
  const scope = newExpressionContext()
  return recordOperator(context, (record, out) => {
    exposeRecord(scope, record)
    const next: Record<string, string> = { ...record.headers }
    for (const [name, expression] of setters) {
      const value = expression.evaluate(scope)
      if (value === null || value === undefined) delete next[name]
      else next[name] = typeof value === 'string' ? value : JSON.stringify(value)
    }
    out.push(withChanges(record, { headers: next }))
  })
}
