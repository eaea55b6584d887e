import { decodeStoreValue, encodeStoreKey, encodeStoreValue } from './key-value-store.js'
import { LastKey } from './last-key.js'
import type { StoreBytes } from './store-partition.js'

/** One window's aggregate. */
export interface WindowEntry {
  readonly key: string
  readonly start: number
  readonly value: unknown
}

const WINDOW = 0x01
const META = 0x00

/**
 * A task's window store (Kafka Streams' WindowStore): (key, window start) → JSON value.
 * Keys are laid out time first — `0x01 | start (8 bytes, big-endian) | key (UTF-8)` — so the
 * windows that close or expire as stream time advances are one range scan, and so is expiry.
 * A few `0x00 | name` entries hold the store's own progress (stream time, what was emitted),
 * changelogged with the windows so a restore brings them back too.
 */
export class WindowStore {
  private readonly lastKey = new LastKey(windowKey)

  constructor(private readonly bytes: StoreBytes) {}

  get name(): string {
    return this.bytes.storeName
  }

  get(key: string, start: number): unknown {
    const value = this.bytes.get(this.lastKey.bytes(key, start))
    return value === undefined ? undefined : decodeStoreValue(value)
  }

  put(key: string, start: number, value: unknown): void {
    this.bytes.put(this.lastKey.bytes(key, start), encodeStoreValue(value))
  }

  delete(key: string, start: number): void {
    this.bytes.delete(this.lastKey.bytes(key, start))
  }

  /**
   * One key's windows with start in [from, to), by start: a lookup per window start, every
   * `advance` ms (window starts are multiples of it), so the cost is the span, not the keys.
   */
  fetch(key: string, from: number, to: number, advance: number): WindowEntry[] {
    const out: WindowEntry[] = []
    for (let start = Math.ceil(Math.max(0, from) / advance) * advance; start < to; start += advance) {
      const value = this.get(key, start)
      if (value !== undefined) out.push({ key, start, value })
    }
    return out
  }

  /**
   * Windows of every key whose start is in [from, to), by start then key, at most `limit`,
   * beginning after the window (`after.key`, `after.start`) when given: a page of a range.
   */
  page(from: number, to: number, after: { key: string; start: number } | undefined, limit: number): WindowEntry[] {
    const lower = timePrefix(from)
    const resume = after && Buffer.concat([windowKey(after.key, after.start), Buffer.from([0])])
    const start = resume && Buffer.compare(resume, lower) > 0 ? resume : lower
    const end = timePrefix(to)
    if (Buffer.compare(start, end) >= 0) return []
    return this.bytes.range(start, end, limit).map(([key, value]) => decodeWindow(key, value))
  }

  /** Windows of every key whose start is in [from, to), by start then key. */
  startingBetween(from: number, to: number): WindowEntry[] {
    if (to <= from) return []
    return this.bytes.range(timePrefix(from), timePrefix(to)).map(([key, value]) => decodeWindow(key, value))
  }

  /** The store's own progress under a name, e.g. stream time. */
  meta(name: string): unknown {
    const value = this.bytes.get(metaKey(name))
    return value === undefined ? undefined : decodeStoreValue(value)
  }

  setMeta(name: string, value: unknown): void {
    this.bytes.put(metaKey(name), encodeStoreValue(value))
  }
}

function decodeWindow(key: Buffer, value: Buffer): WindowEntry {
  return { key: key.toString('utf8', 9), start: Number(key.readBigUInt64BE(1)), value: decodeStoreValue(value) }
}

function timePrefix(start: number): Buffer {
  const prefix = Buffer.allocUnsafe(9)
  prefix[0] = WINDOW
  prefix.writeBigUInt64BE(BigInt(Math.max(0, start)), 1)
  return prefix
}

function windowKey(key: string, start: number): Buffer {
  return encodeStoreKey(key, timePrefix(start))
}

function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([META]), Buffer.from(name, 'utf8')])
}
