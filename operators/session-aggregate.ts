import type { OperatorFunction } from 'rxjs'
import { type RecordBatch, type StreamRecord, withChanges } from '../core/record.js'
import type { SessionEntry, SessionStore } from '../state/session-store.js'
import type { AggregateOperator, WindowDefinition } from '../topology/graph.js'
import { foldOf, groupKey, mergeOf } from './aggregation-fold.js'
import { recordOperator, type StepContext } from './record-operator.js'
import { WindowProgress } from './window-progress.js'
import type { WindowCounters, WindowedResult } from './windowed-aggregate.js'

type SessionWindows = Extract<WindowDefinition, { type: 'session' }>

/**
 * count, reduce or aggregate per key and session (Kafka Streams' SessionWindows): records of a
 * key no more than `gap` apart belong to one session; a record that bridges two sessions
 * merges them (count adds, reduce applies its reducer, aggregate its merger). Results are keyed
 * `<key>@<session start>` with windowEnd the session's last record time (inclusive); when
 * sessions merge, `onUpdate` sends a tombstone (null value) for each session that is gone.
 * On stream time, kept in the store: a record older than stream time minus grace is dropped
 * and counted; `onWindowClose` sends a session once no record can reach it any more (stream
 * time past its end + gap + grace). Sessions leave the store after their retention.
 *
 * ```yaml
 * - name: bursts
 *   from: by-pod
 *   count: { window: { session: 5m, grace: 30s }, emit: onWindowClose }
 * ```
 * See also: windowedAggregate (tumbling and hopping windows).
 */
export function sessionAggregate(
  context: StepContext,
  operator: AggregateOperator,
  windows: SessionWindows,
  store: SessionStore,
  counters: WindowCounters,
): OperatorFunction<RecordBatch, RecordBatch> {
  const fold = foldOf(operator)
  const merge = mergeOf(operator)
  const { gap, grace, retention } = windows
  const emitOnUpdate = operator.emit === 'onUpdate'
  let progress: WindowProgress | undefined

  const process = (record: StreamRecord, out: RecordBatch) => {
    const key = groupKey(record)
    const time = record.timestamp
    progress ??= WindowProgress.load(store)
    progress.observe(time)
    if (time < progress.streamTime - grace) {
      counters.lateRecords++
      return
    }
    let start = time
    let end = time
    let aggregate: unknown
    for (const session of store.overlapping(key, time - gap, time + gap)) {
      start = Math.min(start, session.start)
      end = Math.max(end, session.end)
      aggregate = aggregate === undefined ? session.value : merge(aggregate, session.value)
      store.remove(key, session.start, session.end)
      if (emitOnUpdate && session.start !== start) out.push(tombstone(record, session))
    }
    aggregate = fold(aggregate, record)
    store.put(key, start, end, aggregate)
    if (emitOnUpdate) out.push(result(record, { key, start, end, value: aggregate }))
  }

  const endOfBatch = (last: StreamRecord, out: RecordBatch) => {
    if (!progress) return
    // No record that is not late can reach a session whose end + gap + grace is before stream time.
    const closedBefore = progress.streamTime - gap - grace
    if (!emitOnUpdate && closedBefore > progress.emittedBefore) {
      for (const session of store.endingBetween(progress.emittedBefore, closedBefore)) out.push(result(last, session))
      progress.emittedBefore = closedBefore
    }
    const expiredBefore = progress.streamTime - retention
    if (expiredBefore > progress.expiredBefore) {
      for (const session of store.endingBetween(progress.expiredBefore, expiredBefore))
        store.remove(session.key, session.start, session.end)
      progress.expiredBefore = expiredBefore
    }
    progress.save(store)
  }

  return recordOperator(context, process, endOfBatch)
}

function result(record: StreamRecord, session: SessionEntry): StreamRecord {
  const windowed: WindowedResult = {
    key: session.key,
    windowStart: session.start,
    windowEnd: session.end,
    value: session.value,
  }
  // Timestamped at the session's end at the latest, as Kafka Streams does: not at the later record that closed it.
  return withChanges(record, {
    key: `${session.key}@${session.start}`,
    value: windowed,
    encodedValue: undefined,
    timestamp: Math.min(record.timestamp, session.end),
  })
}

/** A merged-away session: its result key gets a null value, which compacts it away downstream. */
function tombstone(record: StreamRecord, session: SessionEntry): StreamRecord {
  return withChanges(record, { key: `${session.key}@${session.start}`, value: null, encodedValue: undefined })
}
