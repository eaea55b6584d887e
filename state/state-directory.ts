import type * as Lmdb from 'lmdb'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { TaskLock } from './internals/task-lock.js'
import { StateError } from './state-error.js'
import { StorePartition } from './store-partition.js'

/**
 * A replica's state dir (Kafka Streams' state.dir): one LMDB environment for every store of
 * every task this replica has run, one named database per (store, partition), and a checkpoint
 * per (store, partition) — the changelog offset up to which that database holds the changelog.
 *
 * Layout: `<dir>/<application id>/state.lmdb` (+ its lock file), `<dir>/<application id>/tasks/<task>.lock`;
 * databases are named `<store>/<partition>`.
 */
export class StateDirectory {
  private readonly checkpoints: Lmdb.Database<number, string>
  private readonly locks = new Map<string, TaskLock>()

  private closed = false

  private constructor(
    readonly path: string,
    private readonly env: Lmdb.RootDatabase,
  ) {
    this.checkpoints = env.openDB<number, string>('kubestream.checkpoints', {
      encoding: 'msgpack',
      keyEncoding: 'ordered-binary',
    })
  }

  static open(dir: string, applicationId: string): StateDirectory {
    const path = join(dir, applicationId)
    try {
      mkdirSync(join(path, 'tasks'), { recursive: true })
      // maxDbs bounds named databases (one per store and task) for the life of the environment.
      const env = lmdb().open({
        path: join(path, 'state.lmdb'),
        maxDbs: 10_000,
        // Every write here is a synchronous transaction left unflushed (see write); lmdb's
        // overlapping sync (its default on Linux) would ignore that and flush each one.
        overlappingSync: false,
        keyEncoding: 'binary',
        encoding: 'binary',
      })
      return new StateDirectory(path, env)
    } catch (error) {
      throw new StateError('STATE_DIR', `cannot open state dir ${path}: ${(error as Error).message}`, { cause: error })
    }
  }

  /** Claims a task's stores for this process; throws TASK_LOCKED while another live process has them. */
  lockTask(taskId: string): void {
    if (this.locks.has(taskId)) return
    this.locks.set(taskId, TaskLock.acquire(join(this.path, 'tasks'), taskId))
  }

  unlockTask(taskId: string): void {
    this.locks.get(taskId)?.release()
    this.locks.delete(taskId)
  }

  /**
   * Opens a store's database for one partition; its buffer starts empty. Named after the store
   * and the partition only, never the sub-topology's number, so editing the topology elsewhere
   * does not orphan the state.
   */
  storePartition(storeName: string, changelogTopic: string, partition: number): StorePartition {
    const db = this.env.openDB<Buffer, Buffer>(`${storeName}/${partition}`, {
      keyEncoding: 'binary',
      encoding: 'binary',
    })
    return new StorePartition(storeName, changelogTopic, partition, db)
  }

  /**
   * A global table's database: one per replica, fed from every partition of the table's topic,
   * which is its changelog; `checkpointFor` holds the offset reached in each of them.
   */
  globalStore(storeName: string, topic: string): StorePartition {
    const db = this.env.openDB<Buffer, Buffer>(`${storeName}/global`, { keyEncoding: 'binary', encoding: 'binary' })
    return new StorePartition(storeName, topic, GLOBAL, db)
  }

  /** The offset a global store has applied in one partition of its topic. */
  globalCheckpoint(store: StorePartition, partition: number): number | undefined {
    return this.checkpoints.get(`${checkpointKey(store)}/${partition}`)
  }

  /** Applies records of one partition of a global table's topic and the offset they reach, in one transaction. */
  restoreGlobal(
    store: StorePartition,
    partition: number,
    records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>,
    nextOffset: number,
  ): void {
    this.write(() => {
      for (const { key, value } of records) store.applyRestored(key, value)
      this.checkpoints.putSync(`${checkpointKey(store)}/${partition}`, nextOffset)
    })
  }

  /** The changelog offset the store's database has applied up to, or undefined if it never has. */
  checkpoint(store: StorePartition): number | undefined {
    return this.checkpoints.get(checkpointKey(store))
  }

  /**
   * The commit's last step: every buffered change of these stores and their new checkpoints,
   * in one LMDB transaction. Called only after Kafka accepted the commit.
   */
  commit(checkpointed: ReadonlyArray<readonly [StorePartition, number]>): void {
    this.write(() => {
      for (const [store, offset] of checkpointed) {
        store.applyChanges()
        this.checkpoints.putSync(checkpointKey(store), offset)
      }
    })
  }

  /** Forgets a store's contents and checkpoint: it will be restored from the changelog's start. */
  wipe(store: StorePartition): void {
    this.write(() => {
      store.clearOnDisk()
      this.checkpoints.removeSync(checkpointKey(store))
    })
  }

  /** Applies changelog records read back during restore, and how far each store's reach, in one transaction. */
  restore(restored: ReadonlyArray<RestoredRun>): void {
    this.write(() => {
      for (const { store, records, nextOffset } of restored) {
        for (const { key, value } of records) store.applyRestored(key, value)
        this.checkpoints.putSync(checkpointKey(store), nextOffset)
      }
    })
  }

  /** Waits until every transaction so far is on disk: at the end of a restore, and before closing. */
  flush(): Promise<void> {
    return new Promise((resolve, reject) =>
      (this.env as unknown as Syncable).sync((error) =>
        error
          ? reject(new StateError('STATE_DIR', `cannot flush the state dir: ${error.message}`, { cause: error }))
          : resolve(),
      ),
    )
  }

  /**
   * One LMDB transaction, committed without waiting for the disk (LMDB's per-transaction
   * MDB_NOSYNC); `flush` waits for it. LMDB never needs to be durable here: it is never ahead of
   * Kafka, and each store's checkpoint is written in the same transaction as its data, so a
   * machine crash that takes the last transactions back takes their checkpoints back too, and
   * the restore reads those changes again from the changelog (Kafka Streams runs RocksDB without
   * its write-ahead log for the same reason). Waiting for the disk at every transaction was 40%
   * of a 1M-key restore. A process crash loses nothing: the writes are in the page cache. LMDB
   * stays consistent where the file system keeps write order (LMDB's caveat for MDB_NOSYNC).
   */
  private write(transaction: () => void): void {
    this.env.transactionSync(transaction, NOT_FLUSHED)
  }

  /** Flushes and closes; closing again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.flush()
    for (const taskId of [...this.locks.keys()]) this.unlockTask(taskId)
    await this.env.close()
  }
}

/**
 * lmdb is loaded on first use, not at import: a process that has it loaded ran the stateless
 * fan-out ~10% slower with ~60 MB more RSS (bench/fanout, A/B), so topologies without stores
 * never load it.
 */
function lmdb(): typeof Lmdb {
  return createRequire(import.meta.url)('lmdb') as typeof Lmdb
}

/** Changelog records of one store read back in a row, and the offset after them. */
export interface RestoredRun {
  readonly store: StorePartition
  readonly records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>
  readonly nextOffset: number
}

/** lmdb's TransactionFlags: ABORTABLE | SYNCHRONOUS_COMMIT (its default) | NO_SYNC_FLUSH. */
const NOT_FLUSHED = 0x1 | 0x2 | 0x10000

/** lmdb's environment sync (mdb_env_sync), which its typings leave out. */
interface Syncable {
  sync(callback: (error: Error | null) => void): void
}

/** The partition number of a global store: it holds every partition of its topic. */
const GLOBAL = -1

function checkpointKey(store: StorePartition): string {
  return store.partition === GLOBAL ? `${store.storeName}/global` : `${store.storeName}/${store.partition}`
}
