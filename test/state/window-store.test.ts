import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { StateDirectory } from '../../state/state-directory.js'
import { WindowStore } from '../../state/window-store.js'

it('finds windows by start range across keys, in time order, buffer and disk alike', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-window-'))
  const state = StateDirectory.open(dir, 'app')
  const bytes = state.storePartition('w', 'c', 0)
  const store = new WindowStore(bytes)
  store.put('ns/b', 120_000, 2)
  store.put('ns/a', 60_000, 1)
  state.commit([[bytes, 1]])
  store.put('ns/a', 120_000, 3)
  store.put('ns/é', 1_000_000_000_000_000, 9)
  store.setMeta('streamTime', 180_000)
  expect(store.get('ns/a', 60_000)).toBe(1)
  expect(store.get('ns/a', 0)).toBeUndefined()
  expect(store.startingBetween(0, 120_001)).toEqual([
    { key: 'ns/a', start: 60_000, value: 1 },
    { key: 'ns/a', start: 120_000, value: 3 },
    { key: 'ns/b', start: 120_000, value: 2 },
  ])
  expect(store.startingBetween(60_001, 120_000)).toEqual([])
  expect(store.startingBetween(120_001, Number.MAX_SAFE_INTEGER)).toEqual([
    { key: 'ns/é', start: 1_000_000_000_000_000, value: 9 },
  ])
  expect(store.meta('streamTime')).toBe(180_000)
  await state.close()
  rmSync(dir, { recursive: true, force: true })
})
