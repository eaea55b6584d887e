import type { OperatorFunction } from 'rxjs'
import { type RecordBatch, withChanges } from '../core/record.js'
import type { KeyValueStore } from '../state/key-value-store.js'
import type { AggregateOperator } from '../topology/graph.js'
import { foldOf, groupKey } from './aggregation-fold.js'
import { recordOperator, type StepContext } from './record-operator.js'

/**
 * count, reduce or aggregate per key (Kafka Streams' KGroupedStream#count/reduce/aggregate):
 * each record updates its key's aggregate in the store and sends it downstream, keyed as the
 * input, as the new value. The input must be keyed by what it groups on (a keyBy upstream is
 * written through a repartition topic first, so one key always reaches one task).
 *
 * ```yaml
 * - name: per-namespace
 *   from: by-namespace
 *   count: {}
 * ```
 * See also: windowedAggregate (the same per time window), keyBy.
 */
export function aggregate(
  context: StepContext,
  operator: AggregateOperator,
  store: KeyValueStore,
): OperatorFunction<RecordBatch, RecordBatch> {
  const fold = foldOf(operator)
  return recordOperator(context, (record, out) => {
    const key = groupKey(record)
    const next = fold(store.get(key), record)
    store.put(key, next)
    out.push(withChanges(record, { key, value: next, encodedValue: undefined }))
  })
}
