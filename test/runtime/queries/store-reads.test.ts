import { afterEach, describe, expect, it } from 'vitest'
import { QueryError } from '../../../runtime/queries/query-error.js'
import type { QueryableStore } from '../../../runtime/queries/store-catalog.js'
import type { RangePosition } from '../../../runtime/queries/store-query.js'
import { checkQueryFits, mergeRangePages, readKey, readRange } from '../../../runtime/queries/store-reads.js'
import { tempStores } from '../../support/stores.js'

const MINUTE = 60_000
const windowStore: QueryableStore = {
  name: 'by-minute',
  type: 'window',
  subTopology: 1,
  partitions: 1,
  changelogTopic: 'x-by-minute-changelog',
  window: { type: 'hopping', size: MINUTE, advance: MINUTE, grace: 0, retention: 10 * MINUTE },
}
const keyValueStore: QueryableStore = { ...windowStore, name: 'totals', type: 'keyValue', window: undefined }

let stores: ReturnType<typeof tempStores>
afterEach(() => stores?.close())

describe('store reads for interactive queries', () => {
  it('reads only what the last commit left, never the buffered interval', () => {
    stores = tempStores()
    stores.keyValue('totals').put('shop', 1)
    stores.commit()
    stores.keyValue('totals').put('shop', 2)
    const committed = stores.bytes('totals').committed()
    expect(readKey(keyValueStore, { kind: 'value', store: 'totals', key: 'shop' }, committed)).toEqual({ value: 1 })
    expect(() => readKey(keyValueStore, { kind: 'value', store: 'totals', key: 'web' }, committed)).toThrow(
      /no value for key "web"/,
    )
    expect(() => committed.put(Buffer.from('a'), Buffer.from('1'))).toThrow(/read-only/)
  })

  it("fetches a key's windows between bounds, and defaults to what the store keeps by stream time", () => {
    stores = tempStores()
    const windows = stores.window('by-minute')
    for (const minute of [1, 2, 5]) windows.put('shop/BackOff', minute * MINUTE, minute * 10)
    windows.put('web/BackOff', 2 * MINUTE, 99)
    windows.setMeta('progress', { streamTime: 5 * MINUTE + 30_000, emittedBefore: 0, expiredBefore: 0 })
    stores.commit()
    const bytes = stores.bytes('by-minute').committed()
    const query = { kind: 'windows', store: 'by-minute', key: 'shop/BackOff' } as const
    expect(readKey(windowStore, { ...query, from: 2 * MINUTE, to: 5 * MINUTE }, bytes)).toEqual({
      from: 2 * MINUTE,
      to: 5 * MINUTE,
      windows: [{ start: 2 * MINUTE, end: 3 * MINUTE, value: 20 }],
    })
    // Unaligned bounds still find the windows that start inside them.
    expect(readKey(windowStore, { ...query, from: 30_000, to: 2 * MINUTE + 1 }, bytes)).toMatchObject({
      windows: [
        { start: MINUTE, value: 10 },
        { start: 2 * MINUTE, value: 20 },
      ],
    })
    expect(readKey(windowStore, query, bytes)).toMatchObject({
      windows: [1, 2, 5].map((minute) => ({ start: minute * MINUTE, value: minute * 10 })),
    })
    expect(() => readKey(windowStore, { ...query, from: 0, to: 20_000 * MINUTE }, bytes)).toThrow(
      /spans 20000 windows of 60000 ms; at most 10000/,
    )
  })

  it("reads a key's sessions, committed ones only", () => {
    stores = tempStores()
    const sessions = stores.session('by-session')
    sessions.put('shop', 1_000, 5_000, 3)
    sessions.put('shop', 60_000, 61_000, 1)
    sessions.put('web', 2_000, 2_000, 7)
    stores.commit()
    sessions.put('shop', 90_000, 90_000, 1)
    const sessionStore: QueryableStore = { ...windowStore, name: 'by-session', type: 'session' }
    const query = { kind: 'sessions', store: 'by-session', key: 'shop' } as const
    expect(readKey(sessionStore, query, stores.bytes('by-session').committed())).toEqual({
      sessions: [
        { start: 1_000, end: 5_000, value: 3 },
        { start: 60_000, end: 61_000, value: 1 },
      ],
    })
  })

  it('pages a key range over several partitions in key order, continuing after the last key', () => {
    stores = tempStores()
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
    keys.forEach((key, i) => stores.keyValue(i % 2 === 0 ? 'even' : 'odd').put(key, i))
    stores.commit()
    const partitions = [stores.bytes('even').committed(), stores.bytes('odd').committed()]
    const seen: string[] = []
    let after: RangePosition | undefined
    for (let page = 0; page < 10; page++) {
      const result = readRange(
        keyValueStore,
        { kind: 'range', store: 'totals', from: 'b', limit: 2, after },
        partitions,
      )
      seen.push(...result.entries.map((e) => e.key))
      if (result.next === undefined) break
      after = result.next
    }
    expect(seen).toEqual(['b', 'c', 'd', 'e', 'f', 'g'])
    expect(
      readRange(keyValueStore, { kind: 'range', store: 'totals', from: 'b', to: 'd', limit: 10 }, partitions),
    ).toEqual({
      entries: [
        { key: 'b', value: 1 },
        { key: 'c', value: 2 },
      ],
      next: undefined,
    })
  })

  it('pages the windows of every key between two times, by start then key', () => {
    stores = tempStores()
    stores.window('even').put('web', 2 * MINUTE, 1)
    stores.window('even').put('shop', 3 * MINUTE, 2)
    stores.window('odd').put('db', 2 * MINUTE, 3)
    stores.window('odd').put('api', 9 * MINUTE, 4)
    stores.window('odd').setMeta('progress', { streamTime: 9 * MINUTE, emittedBefore: 0, expiredBefore: 0 })
    stores.commit()
    const partitions = [stores.bytes('even').committed(), stores.bytes('odd').committed()]
    const query = { kind: 'range', store: 'by-minute', from: String(2 * MINUTE), to: String(9 * MINUTE) } as const
    const first = readRange(windowStore, { ...query, limit: 2 }, partitions)
    expect(first.entries).toEqual([
      { key: 'db', start: 2 * MINUTE, end: 3 * MINUTE, value: 3 },
      { key: 'web', start: 2 * MINUTE, end: 3 * MINUTE, value: 1 },
    ])
    expect(first.next).toEqual({ key: 'web', start: 2 * MINUTE })
    expect(readRange(windowStore, { ...query, limit: 2, after: first.next }, partitions)).toEqual({
      entries: [{ key: 'shop', start: 3 * MINUTE, end: 4 * MINUTE, value: 2 }],
      next: undefined,
    })
  })

  it('merges pages and says where the next begins when any partition had more', () => {
    const page = mergeRangePages(
      [
        { entries: [{ key: 'a', value: 1 }], next: undefined },
        {
          entries: [
            { key: 'b', value: 2 },
            { key: 'c', value: 3 },
          ],
          next: { key: 'c' },
        },
      ],
      2,
    )
    expect(page).toEqual({
      entries: [
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
      ],
      next: { key: 'b' },
    })
  })

  it('refuses a query its store does not answer', () => {
    expect(() => checkQueryFits(windowStore, 'value')).toThrow(QueryError)
    expect(() => checkQueryFits(windowStore, 'value')).toThrow(
      /a window store: it answers windows, range, owner, not value/,
    )
    expect(() => checkQueryFits(keyValueStore, 'range')).not.toThrow()
  })
})
