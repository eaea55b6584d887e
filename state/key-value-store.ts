import { RecordError } from '../core/record-error.js'
import { LastKey } from './last-key.js'
import type { StoreBytes } from './store-partition.js'

/**
 * A task's key-value store as operators see it (Kafka Streams' KeyValueStore): string keys,
 * JSON values. The outer, typed layer: only it knows the serdes; the bytes go to a
 * StorePartition (write buffer over LMDB, changelogged at commit).
 */
export class KeyValueStore {
  /** An aggregation reads a key and then writes it: the bytes of the last key are encoded once for both. */
  private readonly lastKey = new LastKey((key) => encodeStoreKey(key))

  constructor(private readonly bytes: StoreBytes) {}

  get name(): string {
    return this.bytes.storeName
  }

  get(key: string): unknown {
    const value = this.bytes.get(this.lastKey.bytes(key))
    return value === undefined ? undefined : decodeStoreValue(value)
  }

  put(key: string, value: unknown): void {
    this.bytes.put(this.lastKey.bytes(key), encodeStoreValue(value))
  }

  delete(key: string): void {
    this.bytes.delete(this.lastKey.bytes(key))
  }

  /**
   * Entries with keys in [from, to) in UTF-8 byte order, at most `limit`; an end left out is
   * open. (No UTF-8 text holds the byte 0xff, so that one byte is above every key.)
   */
  range(from: string | undefined, to: string | undefined, limit: number): Array<[string, unknown]> {
    const start = from === undefined ? Buffer.alloc(0) : Buffer.from(from, 'utf8')
    const end = to === undefined ? ABOVE_EVERY_KEY : Buffer.from(to, 'utf8')
    if (Buffer.compare(start, end) >= 0) return []
    return this.bytes.range(start, end, limit).map(([key, value]) => [key.toString('utf8'), decodeStoreValue(value)])
  }
}

const ABOVE_EVERY_KEY = Buffer.from([0xff])

/**
 * A key-value store read far more than written (a global table): decoded values, and misses,
 * are kept until `invalidate`, which the writer calls after each change it applies. Values
 * are shared between readers, which operators never mutate.
 */
export class ReadCachedKeyValueStore extends KeyValueStore {
  private readonly cache = new Map<string, unknown>()

  override get(key: string): unknown {
    if (this.cache.has(key)) return this.cache.get(key)
    const value = super.get(key)
    if (this.cache.size >= READ_CACHE_ENTRIES) this.cache.clear()
    this.cache.set(key, value)
    return value
  }

  invalidate(): void {
    this.cache.clear()
  }
}

const READ_CACHE_ENTRIES = 100_000

/** LMDB's key limit (lmdb-js builds with 1978 bytes); a longer key is that record's problem. */
const MAX_KEY_BYTES = 1900

export function encodeStoreKey(key: string, prefix?: Buffer): Buffer {
  const bytes = Buffer.from(key, 'utf8')
  if (bytes.length + (prefix?.length ?? 0) > MAX_KEY_BYTES) {
    throw new RecordError(
      'STATE_KEY',
      `key of ${bytes.length} bytes is too long for a state store (at most ${MAX_KEY_BYTES})`,
    )
  }
  return prefix ? Buffer.concat([prefix, bytes]) : bytes
}

export function encodeStoreValue(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value) ?? 'null', 'utf8')
}

export function decodeStoreValue(bytes: Buffer): unknown {
  return JSON.parse(bytes.toString('utf8'))
}
