import { WindowProgress } from '../../operators/window-progress.js'
import { KeyValueStore } from '../../state/key-value-store.js'
import { SessionStore } from '../../state/session-store.js'
import type { StoreBytes } from '../../state/store-partition.js'
import { WindowStore } from '../../state/window-store.js'
import { QueryError } from './query-error.js'
import type { QueryableStore } from './store-catalog.js'
import { parseTime, type RangePosition, type StoreQuery } from './store-query.js'

/** A window query reads one key's windows one start at a time: at most this many per query. */
export const MAX_WINDOW_LOOKUPS = 10_000

type KeyQuery = Extract<StoreQuery, { kind: 'value' | 'windows' | 'sessions' }>
type RangeQuery = Extract<StoreQuery, { kind: 'range' }>

/** The kinds of query each kind of store answers. */
const ANSWERS: Readonly<Record<QueryableStore['type'], ReadonlyArray<StoreQuery['kind']>>> = {
  keyValue: ['value', 'range', 'owner'],
  window: ['windows', 'range', 'owner'],
  session: ['sessions', 'owner'],
}

export function checkQueryFits(store: QueryableStore, kind: StoreQuery['kind']): void {
  if (!ANSWERS[store.type].includes(kind)) {
    const fits = ANSWERS[store.type].join(', ')
    throw new QueryError('BAD_QUERY', `store "${store.name}" is a ${store.type} store: it answers ${fits}, not ${kind}`)
  }
}

/** Answers a key's query from one partition's bytes, as JSON; NOT_FOUND when a key-value store has no value. */
export function readKey(store: QueryableStore, query: KeyQuery, bytes: StoreBytes): Record<string, unknown> {
  if (query.kind === 'value') {
    const value = new KeyValueStore(bytes).get(query.key)
    if (value === undefined)
      throw new QueryError('NOT_FOUND', `store "${store.name}" has no value for key "${query.key}"`)
    return { value }
  }
  if (query.kind === 'sessions') {
    const sessions = new SessionStore(bytes).overlapping(query.key, 0, Number.MAX_SAFE_INTEGER)
    return { sessions: sessions.map(({ start, end, value }) => ({ start, end, value })) }
  }
  return readWindows(store, query, new WindowStore(bytes))
}

/**
 * A key's windows with start in [from, to). Left out, the bounds are the windows the store
 * still keeps: from its stream time (event time, not the clock) back over its retention.
 */
function readWindows(
  store: QueryableStore,
  query: Extract<StoreQuery, { kind: 'windows' }>,
  windows: WindowStore,
): Record<string, unknown> {
  const { size, advance, retention } = store.window as Extract<QueryableStore['window'], { type: 'hopping' }>
  const streamTime = WindowProgress.load(windows).streamTime
  const to = query.to ?? Math.max(0, streamTime + 1)
  const from = query.from ?? Math.max(0, to - retention - size, to - MAX_WINDOW_LOOKUPS * advance)
  const lookups = Math.ceil((to - from) / advance)
  if (lookups > MAX_WINDOW_LOOKUPS) {
    throw new QueryError(
      'BAD_QUERY',
      `from..to spans ${lookups} windows of ${advance} ms; at most ${MAX_WINDOW_LOOKUPS} per query`,
    )
  }
  const found = windows.fetch(query.key, from, to, advance)
  return { from, to, windows: found.map(({ start, value }) => ({ start, end: start + size, value })) }
}

/** An entry of a range: a key-value store's key and value, or a window store's window. */
export interface RangeEntry {
  readonly key: string
  readonly start?: number
  readonly end?: number
  readonly value: unknown
}

/** One page of a range over some partitions, in store order, and where the next page begins. */
export interface RangePage {
  entries: RangeEntry[]
  /** The last entry of this page when more may follow. */
  next?: RangePosition
}

/**
 * A page of a range from each partition's bytes, merged: a key-value store's keys in [from, to)
 * (UTF-8 byte order), or a window store's windows of every key with start in [from, to), by
 * start then key. Either end left out is open.
 */
export function readRange(store: QueryableStore, query: RangeQuery, partitions: readonly StoreBytes[]): RangePage {
  // Checked before any partition is read: a replica with none of them here still says what is wrong.
  const times = store.type === 'window' ? windowBounds(query) : undefined
  const pages = partitions.map((bytes): RangePage => {
    const entries = times ? windowRange(store, query, times, bytes) : keyRange(query, bytes)
    const full = entries.length === query.limit
    return { entries, next: full ? positionOf(entries.at(-1)!) : undefined }
  })
  return mergeRangePages(pages, query.limit)
}

function keyRange(query: RangeQuery, bytes: StoreBytes): RangeEntry[] {
  const resume = query.after && `${query.after.key}\u0000`
  const from =
    resume !== undefined && (query.from === undefined || utf8Order(resume, query.from) > 0) ? resume : query.from
  return new KeyValueStore(bytes).range(from, query.to, query.limit).map(([key, value]) => ({ key, value }))
}

/** A window store's range is of window starts: [from, to), either end open when left out. */
function windowBounds(query: RangeQuery): { from: number; to: number } {
  const from = parseTime(query.from, 'from') ?? 0
  const to = parseTime(query.to, 'to') ?? Number.MAX_SAFE_INTEGER
  if (from >= to) throw new QueryError('BAD_QUERY', `from (${from}) must be before to (${to})`)
  return { from, to }
}

function windowRange(
  store: QueryableStore,
  query: RangeQuery,
  { from, to }: { from: number; to: number },
  bytes: StoreBytes,
): RangeEntry[] {
  const { size } = store.window as Extract<QueryableStore['window'], { type: 'hopping' }>
  const after = query.after && { key: query.after.key, start: query.after.start ?? 0 }
  return new WindowStore(bytes)
    .page(from, to, after, query.limit)
    .map(({ key, start, value }) => ({ key, start, end: start + size, value }))
}

/** Merges pages of disjoint partitions: the first `limit` entries in store order, and where the next page starts. */
export function mergeRangePages(pages: readonly RangePage[], limit: number): RangePage {
  const entries = pages.flatMap((page) => page.entries).sort(storeOrder)
  const more = entries.length > limit || pages.some((page) => page.next !== undefined)
  const kept = entries.slice(0, limit)
  return { entries: kept, next: more && kept.length > 0 ? positionOf(kept.at(-1)!) : undefined }
}

function positionOf({ key, start }: RangeEntry): RangePosition {
  return start === undefined ? { key } : { key, start }
}

/** The order the stores keep: window start first (window stores), then the key's bytes. */
function storeOrder(a: RangeEntry, b: RangeEntry): number {
  return (a.start ?? 0) - (b.start ?? 0) || utf8Order(a.key, b.key)
}

function utf8Order(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}
