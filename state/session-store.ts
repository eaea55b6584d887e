import { decodeStoreValue, encodeStoreKey, encodeStoreValue } from './key-value-store.js'
import type { StoreBytes } from './store-partition.js'

/** One session's aggregate: records of a key no more than the gap apart, from start to end (both inclusive). */
export interface SessionEntry {
  readonly key: string
  readonly start: number
  readonly end: number
  readonly value: unknown
}

const SESSION = 0x01
const BY_END = 0x02
const META = 0x00
const MAX_TIME = Buffer.alloc(8, 0xff)

/**
 * A task's session store (Kafka Streams' SessionStore): (key, start, end) → JSON value.
 * Sessions are kept by key, then end, then start — `0x01 | key length | key | end | start` — so
 * the sessions a new record may merge with are one range scan; an index by end —
 * `0x02 | end | key length | key | start` — finds the sessions that close or expire as stream
 * time advances. Both go to the changelog, so a restore rebuilds both.
 */
export class SessionStore {
  constructor(private readonly bytes: StoreBytes) {}

  get name(): string {
    return this.bytes.storeName
  }

  /** The key's sessions with end >= from and start <= to. */
  overlapping(key: string, from: number, to: number): SessionEntry[] {
    const prefix = keyPrefix(key)
    const out: SessionEntry[] = []
    for (const [bytes, value] of this.bytes.range(
      Buffer.concat([prefix, time(from)]),
      Buffer.concat([prefix, MAX_TIME, MAX_TIME]),
    )) {
      const end = Number(bytes.readBigUInt64BE(prefix.length))
      const start = Number(bytes.readBigUInt64BE(prefix.length + 8))
      if (start <= to) out.push({ key, start, end, value: decodeStoreValue(value) })
    }
    return out
  }

  put(key: string, start: number, end: number, value: unknown): void {
    this.bytes.put(sessionKey(key, start, end), encodeStoreValue(value))
    this.bytes.put(endKey(key, start, end), EMPTY)
  }

  remove(key: string, start: number, end: number): void {
    this.bytes.delete(sessionKey(key, start, end))
    this.bytes.delete(endKey(key, start, end))
  }

  /** Sessions of every key whose end is in [from, to), by end. */
  endingBetween(from: number, to: number): SessionEntry[] {
    if (to <= from) return []
    const out: SessionEntry[] = []
    for (const [bytes] of this.bytes.range(
      Buffer.concat([Buffer.from([BY_END]), time(from)]),
      Buffer.concat([Buffer.from([BY_END]), time(to)]),
    )) {
      const end = Number(bytes.readBigUInt64BE(1))
      const length = bytes.readUInt32BE(9)
      const key = bytes.toString('utf8', 13, 13 + length)
      const start = Number(bytes.readBigUInt64BE(13 + length))
      const value = this.bytes.get(sessionKey(key, start, end))
      if (value !== undefined) out.push({ key, start, end, value: decodeStoreValue(value) })
    }
    return out
  }

  meta(name: string): unknown {
    const value = this.bytes.get(metaKey(name))
    return value === undefined ? undefined : decodeStoreValue(value)
  }

  setMeta(name: string, value: unknown): void {
    this.bytes.put(metaKey(name), encodeStoreValue(value))
  }
}

const EMPTY = Buffer.alloc(0)

function time(ms: number): Buffer {
  const bytes = Buffer.allocUnsafe(8)
  bytes.writeBigUInt64BE(BigInt(Math.max(0, ms)))
  return bytes
}

function lengthOf(key: Buffer): Buffer {
  const bytes = Buffer.allocUnsafe(4)
  bytes.writeUInt32BE(key.length)
  return bytes
}

function keyPrefix(key: string): Buffer {
  const bytes = encodeStoreKey(key, Buffer.from([SESSION, 0, 0, 0, 0]))
  bytes.writeUInt32BE(bytes.length - 5, 1)
  return bytes
}

function sessionKey(key: string, start: number, end: number): Buffer {
  return Buffer.concat([keyPrefix(key), time(end), time(start)])
}

function endKey(key: string, start: number, end: number): Buffer {
  const keyBytes = Buffer.from(key, 'utf8')
  return Buffer.concat([Buffer.from([BY_END]), time(end), lengthOf(keyBytes), keyBytes, time(start)])
}

function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([META]), Buffer.from(name, 'utf8')])
}
