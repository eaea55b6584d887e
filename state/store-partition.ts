import type { Database } from 'lmdb'

/** A change of one interval, as it goes to the changelog: a null value is a delete (a tombstone). */
export interface StoreChange {
  readonly key: Buffer
  readonly value: Buffer | null
}

/** The bytes under a typed store (key-value, window, session): a task's StorePartition, or a read-only view of it. */
export interface StoreBytes {
  /** The store's name in the topology. */
  readonly storeName: string
  get(key: Buffer): Buffer | undefined
  put(key: Buffer, value: Buffer): void
  delete(key: Buffer): void
  /** Entries with keys in [from, to), in key order, at most `limit` of them. */
  range(from: Buffer, to: Buffer, limit?: number): Array<[Buffer, Buffer]>
}

/**
 * One store of one task: the raw bytes layer (a named LMDB database) under the task's write
 * buffer. Writes of the current commit interval sit in the buffer, which reads see first; at
 * commit they go to the changelog (one record per key: the interval's last write, as Kafka
 * Streams' caching layer does) and, once Kafka has accepted the commit, to LMDB together with
 * the checkpoint (`StateDirectory#commit`). LMDB is therefore never ahead of Kafka.
 *
 * Keys compare as bytes (memcmp), so big-endian numbers in keys sort by value.
 */
export class StorePartition implements StoreBytes {
  /** Key bytes as latin1 (one char per byte, so order and identity are kept) → value, null for deleted. */
  private readonly buffer = new Map<string, StoreChange>()
  /** Reads, writes (deletes included) and restored changelog records, for Kafka Streams' state metrics. */
  readonly calls = { get: 0, put: 0, restore: 0 }
  /** The buffer's id of the last key seen: a get and the put after it usually pass the same Buffer. */
  private lastKey: Buffer | undefined
  private lastId = ''

  constructor(
    /** The store's name in the topology. */
    readonly storeName: string,
    /** `<application id>-<store>-changelog`; this store writes partition `partition` of it. */
    readonly changelogTopic: string,
    readonly partition: number,
    private readonly db: Database<Buffer, Buffer>,
  ) {}

  get(key: Buffer): Buffer | undefined {
    this.calls.get++
    const buffered = this.buffer.get(this.idOf(key))
    if (buffered !== undefined) return buffered.value ?? undefined
    return this.db.getBinary(key)
  }

  put(key: Buffer, value: Buffer): void {
    this.calls.put++
    this.buffer.set(this.idOf(key), { key, value })
  }

  delete(key: Buffer): void {
    this.calls.put++
    this.buffer.set(this.idOf(key), { key, value: null })
  }

  private idOf(key: Buffer): string {
    if (key !== this.lastKey) {
      this.lastId = key.toString('latin1')
      this.lastKey = key
    }
    return this.lastId
  }

  /** Entries with keys in [from, to), in key order, the buffer laid over what is on disk. */
  range(from: Buffer, to: Buffer, limit = Infinity): Array<[Buffer, Buffer]> {
    const merged = new Map<string, [Buffer, Buffer | null]>()
    for (const { key, value } of this.db.getRange({ start: from, end: to }))
      merged.set(key.toString('latin1'), [key, value])
    for (const [id, change] of this.buffer) {
      if (Buffer.compare(change.key, from) >= 0 && Buffer.compare(change.key, to) < 0)
        merged.set(id, [change.key, change.value])
    }
    const out: Array<[Buffer, Buffer]> = []
    for (const [key, value] of merged.values()) if (value !== null) out.push([key, value])
    return out.sort((a, b) => Buffer.compare(a[0], b[0])).slice(0, limit)
  }

  /**
   * What the last commit left: LMDB without the interval's buffered writes, which an aborted
   * transaction would drop. Interactive queries read this, so an answer is never a value the
   * changelog and the output topics may yet take back. Read-only.
   */
  committed(): StoreBytes {
    const { db, storeName } = this
    const readOnly = (): never => {
      throw new Error(`the committed view of store ${storeName} is read-only`)
    }
    return {
      storeName,
      get: (key) => db.getBinary(key),
      range: (from, to, limit) =>
        [...db.getRange({ start: from, end: to, limit })].map(({ key, value }) => [key, value] as [Buffer, Buffer]),
      put: readOnly,
      delete: readOnly,
    }
  }

  /** How many keys were written since the last commit. */
  get pendingChanges(): number {
    return this.buffer.size
  }

  /** The interval's changes, one per key, for the changelog. */
  changes(): IterableIterator<StoreChange> {
    return this.buffer.values()
  }

  /** Writes the interval's changes to LMDB; call inside the commit's LMDB transaction only. */
  applyChanges(): void {
    for (const { key, value } of this.buffer.values()) applyChange(this.db, key, value)
    this.buffer.clear()
  }

  /** Forgets the interval's changes: the transaction they belonged to was aborted. */
  discardChanges(): void {
    this.buffer.clear()
  }

  /** Empties the database (a checkpoint the changelog no longer covers); call inside an LMDB transaction. */
  clearOnDisk(): void {
    this.buffer.clear()
    this.db.clearSync()
  }

  /** Writes a restored changelog record; call inside an LMDB transaction. */
  applyRestored(key: Buffer, value: Buffer | null): void {
    this.calls.restore++
    applyChange(this.db, key, value)
  }

  /** How many entries LMDB holds (committed ones; a window or session store's own bookkeeping included). */
  entryCount(): number {
    return (this.db.getStats() as { entryCount: number }).entryCount
  }

  /** Every entry on disk, in key order (tests and tools; not the hot path). */
  entriesOnDisk(): Array<[Buffer, Buffer]> {
    return [...this.db.getRange({})].map(({ key, value }) => [key, value])
  }
}

function applyChange(db: Database<Buffer, Buffer>, key: Buffer, value: Buffer | null): void {
  if (value === null) db.removeSync(key)
  else db.putSync(key, value)
}
