import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StateDirectory } from '../../state/state-directory.js'

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-state-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const b = (text: string) => Buffer.from(text)

describe('StateDirectory and StorePartition', () => {
  it('serves buffered writes before commit and keeps them off disk until then', async () => {
    const state = StateDirectory.open(tempDir(), 'app')
    const store = state.storePartition('counts', 'app-counts-changelog', 1)
    store.put(b('a'), b('1'))
    store.put(b('b'), b('2'))
    store.delete(b('b'))
    expect(store.get(b('a'))?.toString()).toBe('1')
    expect(store.get(b('b'))).toBeUndefined()
    expect(store.entriesOnDisk()).toEqual([])
    expect([...store.changes()].map((c) => [c.key.toString(), c.value?.toString() ?? null])).toEqual([
      ['a', '1'],
      ['b', null],
    ])
    expect(state.checkpoint(store)).toBeUndefined()

    state.commit([[store, 42]])
    expect(store.pendingChanges).toBe(0)
    expect(store.entriesOnDisk().map(([k, v]) => [k.toString(), v.toString()])).toEqual([['a', '1']])
    expect(state.checkpoint(store)).toBe(42)
    await state.close()
  })

  it('keeps data and checkpoints across reopening, per store and task', async () => {
    const dir = tempDir()
    let state = StateDirectory.open(dir, 'app')
    const one = state.storePartition('counts', 'app-counts-changelog', 0)
    const two = state.storePartition('counts', 'app-counts-changelog', 1)
    one.put(b('k'), b('one'))
    two.put(b('k'), b('two'))
    state.commit([
      [one, 5],
      [two, 7],
    ])
    two.put(b('k'), b('uncommitted'))
    await state.close()

    state = StateDirectory.open(dir, 'app')
    const again = state.storePartition('counts', 'app-counts-changelog', 1)
    expect(again.get(b('k'))?.toString()).toBe('two')
    expect(state.checkpoint(again)).toBe(7)
    expect(state.checkpoint(state.storePartition('counts', 'app-counts-changelog', 0))).toBe(5)
    await state.close()
  })

  it('merges buffer and disk in key order for range scans', async () => {
    const state = StateDirectory.open(tempDir(), 'app')
    const store = state.storePartition('s', 'c', 0)
    for (const k of ['b', 'd', 'f']) store.put(b(k), b(`disk-${k}`))
    state.commit([[store, 3]])
    store.put(b('c'), b('buf-c'))
    store.put(b('d'), b('buf-d'))
    store.delete(b('f'))
    store.put(b('z'), b('outside'))
    expect(store.range(b('a'), b('g')).map(([k, v]) => `${k}=${v}`)).toEqual(['b=disk-b', 'c=buf-c', 'd=buf-d'])
    await state.close()
  })

  it('applies restored records and the offset they reach in one step', async () => {
    const state = StateDirectory.open(tempDir(), 'app')
    const store = state.storePartition('s', 'c', 0)
    state.restore([
      {
        store,
        records: [
          { key: b('x'), value: b('1') },
          { key: b('y'), value: b('2') },
          { key: b('x'), value: null },
        ],
        nextOffset: 3,
      },
    ])
    expect(store.entriesOnDisk().map(([k]) => k.toString())).toEqual(['y'])
    expect(state.checkpoint(store)).toBe(3)
    await state.close()
  })

  it('locks a task against another live process and takes over the lock of a dead one', async () => {
    const dir = tempDir()
    const state = StateDirectory.open(dir, 'app')
    // pid 1 is always alive and never us.
    writeFileSync(join(dir, 'app', 'tasks', '0_0.lock'), '1')
    expect(() => state.lockTask('0_0')).toThrow(expect.objectContaining({ code: 'TASK_LOCKED' }))
    // A pid far above pid_max is never alive: a replica killed with -9 left it.
    writeFileSync(join(dir, 'app', 'tasks', '0_1.lock'), '99999999')
    expect(() => state.lockTask('0_1')).not.toThrow()
    await state.close()
  })
})
