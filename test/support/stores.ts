import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeyValueStore } from '../../state/key-value-store.js'
import { SessionStore } from '../../state/session-store.js'
import { StateDirectory } from '../../state/state-directory.js'
import { WindowStore } from '../../state/window-store.js'

/** Real LMDB stores in a temp dir, for operator tests; `commit` applies buffered writes as the commit loop would. */
export function tempStores() {
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-op-'))
  const state = StateDirectory.open(dir, 'test')
  const partitions = new Map<string, ReturnType<StateDirectory['storePartition']>>()
  const partition = (name: string) => {
    let bytes = partitions.get(name)
    if (!bytes) partitions.set(name, (bytes = state.storePartition(name, `test-${name}-changelog`, 0)))
    return bytes
  }
  let offset = 0
  return {
    /** The raw store partition (write buffer over LMDB). */
    bytes: partition,
    keyValue: (name: string) => new KeyValueStore(partition(name)),
    window: (name: string) => new WindowStore(partition(name)),
    session: (name: string) => new SessionStore(partition(name)),
    /** Buffered changes per store, as the changelog would receive them. */
    pending: (name: string) => [...partition(name).changes()],
    commit: () => state.commit([...partitions.values()].map((p) => [p, ++offset] as const)),
    onDisk: (name: string) => partition(name).entriesOnDisk(),
    close: async () => {
      await state.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
