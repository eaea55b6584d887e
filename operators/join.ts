import type { OperatorFunction } from 'rxjs'
import { RecordError } from '../core/record-error.js'
import { type RecordBatch, withChanges } from '../core/record.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'
import type { KeyValueStore } from '../state/key-value-store.js'
import type { JoinOperator } from '../topology/graph.js'
import { groupKey } from './aggregation-fold.js'
import { recordOperator, type StepContext } from './record-operator.js'

/**
 * Enriches each record with what a table holds for its key (Kafka Streams' KStream-KTable and
 * KStream-GlobalKTable joins): the record key, or for a global table a key computed by CEL.
 * `inner` drops records the table has nothing for; `left` keeps them with `table` null. The
 * output's value is the join's `value` expression over `value`, `key` and `table`; the key
 * stays. Table updates never trigger output: only stream records do.
 *
 * ```yaml
 * - name: with-pod
 *   from: flows
 *   join: { table: pods-by-ip, type: left, key: value.srcIp, value: '{"flow": value, "pod": table}' }
 * ```
 * See also: toTable, keyBy.
 */
export function join(
  context: StepContext,
  operator: JoinOperator,
  table: KeyValueStore,
): OperatorFunction<RecordBatch, RecordBatch> {
  const scope = newExpressionContext()
  const { key: keyExpression, value, joinType } = operator
  return recordOperator(context, (record, out) => {
    exposeRecord(scope, record)
    scope.table = null
    const lookup = keyExpression ? lookupKey(keyExpression.evaluate(scope)) : groupKey(record)
    const found = lookup === undefined ? undefined : table.get(lookup)
    if (found === undefined && joinType === 'inner') return
    scope.table = found ?? null
    out.push(withChanges(record, { value: value.evaluate(scope), encodedValue: undefined }))
  })
}

/** A computed key that is null finds nothing; anything but a string or number is the record's error. */
function lookupKey(key: unknown): string | undefined {
  if (key === null || key === undefined) return undefined
  if (typeof key === 'string') return key
  if (typeof key === 'number' || typeof key === 'boolean') return String(key)
  throw new RecordError('EXPRESSION_TYPE', `join key must be a string, got ${Array.isArray(key) ? 'list' : typeof key}`)
}
