import type { OperatorFunction } from 'rxjs'
import { type RecordBatch, type StreamRecord, withChanges } from '../core/record.js'
import type { WindowStore } from '../state/window-store.js'
import type { AggregateOperator, WindowDefinition } from '../topology/graph.js'
import { foldOf, groupKey } from './aggregation-fold.js'
import { recordOperator, type StepContext } from './record-operator.js'
import { WindowProgress } from './window-progress.js'

type TimeWindows = Extract<WindowDefinition, { type: 'hopping' }>

/** What a windowed aggregation sends downstream, keyed `<key>@<window start>`. */
export interface WindowedResult {
  key: string
  /** Epoch milliseconds, inclusive. */
  windowStart: number
  /** Epoch milliseconds, exclusive. */
  windowEnd: number
  value: unknown
}

/** Counters the runtime reports (Kafka Streams' dropped-records for late records). */
export interface WindowCounters {
  lateRecords: number
}

/**
 * count, reduce or aggregate per key and time window (tumbling, or hopping with an advance),
 * on stream time — the largest timestamp this task has seen, kept in the store so a restart
 * or a restore keeps it. A record whose window already closed (stream time past its end plus
 * grace) is dropped and counted. `onUpdate` sends every change; `onWindowClose` sends each
 * window once, when stream time passes its end plus grace. Windows leave the store when their
 * retention has passed (a tombstone in the changelog, too).
 *
 * ```yaml
 * - name: warnings-per-minute
 *   from: by-reason
 *   count: { window: { tumbling: 1m, grace: 10s }, emit: onWindowClose }
 * ```
 * See also: aggregate (no windows).
 */
export function windowedAggregate(
  context: StepContext,
  operator: AggregateOperator,
  windows: TimeWindows,
  store: WindowStore,
  counters: WindowCounters,
): OperatorFunction<RecordBatch, RecordBatch> {
  const fold = foldOf(operator)
  const { size, advance, grace, retention } = windows
  const emitOnUpdate = operator.emit === 'onUpdate'
  let progress: WindowProgress | undefined

  const process = (record: StreamRecord, out: RecordBatch) => {
    const key = groupKey(record)
    const time = record.timestamp
    progress ??= WindowProgress.load(store)
    progress.observe(time)
    // Every window [start, start + size) that holds `time`, as Kafka Streams' TimeWindows#windowsFor.
    for (
      let start = Math.floor(Math.max(0, time - size + advance) / advance) * advance;
      start <= time;
      start += advance
    ) {
      if (start + size + grace <= progress.streamTime) {
        counters.lateRecords++
        continue
      }
      const next = fold(store.get(key, start), record)
      store.put(key, start, next)
      if (emitOnUpdate) out.push(result(record, key, start, size, next))
    }
  }

  const endOfBatch = (last: StreamRecord, out: RecordBatch) => {
    if (!progress) return
    // Windows with start + size + grace <= stream time have closed; those past retention go.
    const closedBefore = progress.streamTime - size - grace + 1
    if (!emitOnUpdate && crossesWindowStart(progress.emittedBefore, closedBefore, advance)) {
      for (const window of store.startingBetween(progress.emittedBefore, closedBefore))
        out.push(result(last, window.key, window.start, size, window.value))
      progress.emittedBefore = closedBefore
    }
    const expiredBefore = progress.streamTime - retention + 1
    if (crossesWindowStart(progress.expiredBefore, expiredBefore, advance)) {
      for (const window of store.startingBetween(progress.expiredBefore, expiredBefore))
        store.delete(window.key, window.start)
      progress.expiredBefore = expiredBefore
    }
    progress.save(store)
  }

  return recordOperator(context, process, endOfBatch)
}

/**
 * A window's result, timestamped inside its window: the updating record's time, or for a
 * window emitted on close (by a later record), its last millisecond — so a windowed step
 * downstream puts it in the same window, not the one that closed it.
 */
function result(record: StreamRecord, key: string, start: number, size: number, value: unknown): StreamRecord {
  const windowed: WindowedResult = { key, windowStart: start, windowEnd: start + size, value }
  return withChanges(record, {
    key: `${key}@${start}`,
    value: windowed,
    encodedValue: undefined,
    timestamp: Math.min(record.timestamp, start + size - 1),
  })
}

/** Window starts are multiples of the advance: a scan is due only when a bound passes one. */
function crossesWindowStart(from: number, to: number, advance: number): boolean {
  return to > from && Math.floor((to - 1) / advance) >= Math.ceil(from / advance)
}
