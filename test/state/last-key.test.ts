import { expect, it } from 'vitest'
import { encodeStoreKey } from '../../state/key-value-store.js'
import { LastKey } from '../../state/last-key.js'
import { tempStores } from '../support/stores.js'

it('encodes a key once while it is asked for again, and anew for another key or window start', () => {
  const encoded: string[] = []
  const last = new LastKey((key, start) => {
    encoded.push(`${key}@${start}`)
    return Buffer.from(`${key}@${start}`)
  })
  const first = last.bytes('ns/a', 60_000)
  expect(last.bytes('ns/a', 60_000)).toBe(first)
  expect(last.bytes('ns/a', 120_000).toString()).toBe('ns/a@120000')
  expect(last.bytes('ns/b', 120_000).toString()).toBe('ns/b@120000')
  expect(last.bytes('ns/b').toString()).toBe('ns/b@0')
  expect(encoded).toEqual(['ns/a@60000', 'ns/a@120000', 'ns/b@120000', 'ns/b@0'])
})

it('does not remember a key the encoder refused', () => {
  const last = new LastKey((key) => encodeStoreKey(key))
  const tooLong = 'k'.repeat(2_000)
  expect(() => last.bytes(tooLong)).toThrow(/too long/)
  expect(() => last.bytes(tooLong)).toThrow(/too long/)
  expect(last.bytes('short').toString()).toBe('short')
})

it('keeps a store exact when keys alternate between reads and writes', async () => {
  const stores = tempStores()
  const counts = stores.keyValue('counts')
  const windows = stores.window('windows')
  for (const key of ['a', 'b', 'a', 'a', 'c', 'b']) {
    counts.put(key, ((counts.get(key) as number | undefined) ?? 0) + 1)
    windows.put(key, 60_000, ((windows.get(key, 60_000) as number | undefined) ?? 0) + 1)
    windows.put(key, 0, -1)
  }
  stores.commit()
  counts.put('a', 10)
  expect(['a', 'b', 'c'].map((key) => counts.get(key))).toEqual([10, 2, 1])
  expect(['a', 'b', 'c'].map((key) => [windows.get(key, 60_000), windows.get(key, 0)])).toEqual([
    [3, -1],
    [2, -1],
    [1, -1],
  ])
  await stores.close()
})
