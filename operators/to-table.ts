import type { OperatorFunction } from 'rxjs'
import type { RecordBatch } from '../core/record.js'
import type { KeyValueStore } from '../state/key-value-store.js'
import { groupKey } from './aggregation-fold.js'
import { recordOperator, type StepContext } from './record-operator.js'

/**
 * Materializes a table source (Kafka Streams' KTableSource): each record's value becomes the
 * latest for its key; a tombstone (null value) deletes the key. Terminal: joins read the store.
 *
 * ```yaml
 * sources:
 *   - name: pods
 *     kafka: { topic: pods-by-ip }
 *     table: {}
 * ```
 * See also: join.
 */
export function toTable(context: StepContext, store: KeyValueStore): OperatorFunction<RecordBatch, RecordBatch> {
  return recordOperator(context, (record) => {
    const key = groupKey(record)
    if (record.value === null) store.delete(key)
    else store.put(key, record.value)
  })
}
