import { connectionKey, type TracerConnection } from '../../connectors/tracer/connection.js'
import type { StorePartition } from '../../state/store-partition.js'

/** Bytes and retransmits of one connection since the previous document. */
export interface CounterDeltas {
  readonly sentBytes: number
  readonly recvBytes: number
  readonly retransmits: number
  /**
   * The counters went backwards: the tuple was closed and opened again (or the tracer restarted) since the previous
   * document.
   */
  readonly reset: boolean
}

/**
 * The monotonic counters last seen per connection of one node, in a state store, so deltas
 * survive a restart: the first document after it is compared with what the last committed
 * one left, and nothing is counted twice. The store is written through its write buffer and
 * reaches LMDB only after Kafka has accepted the deltas (the engine's commit order).
 *
 * Keyed by network namespace and IP tuple, never by pid: the process that owns a socket may
 * change (a forked worker, a passed descriptor) while the connection goes on.
 */
export class ConnectionCounters {
  constructor(private readonly store: StorePartition) {}

  /**
   * The deltas since the counters stored for this connection. A connection not stored is new
   * (opened since the previous document): everything it counted is new. A counter lower than
   * stored means the tuple was reused by a new connection: its counters started again from 0.
   */
  update(connection: TracerConnection): CounterDeltas {
    const key = Buffer.from(storeKey(connection), 'utf8')
    const stored = this.store.get(key)
    const now = [connection.sentBytes, connection.recvBytes, connection.retransmits] as const
    this.store.put(key, encodeCounters(now))
    if (stored === undefined) return { sentBytes: now[0], recvBytes: now[1], retransmits: now[2], reset: false }
    const before = decodeCounters(stored)
    if (now[0] < before[0] || now[1] < before[1] || now[2] < before[2])
      return { sentBytes: now[0], recvBytes: now[1], retransmits: now[2], reset: true }
    return {
      sentBytes: now[0] - before[0],
      recvBytes: now[1] - before[1],
      retransmits: now[2] - before[2],
      reset: false,
    }
  }

  /**
   * Forgets connections a complete document no longer lists: they closed. A tuple opened again
   * later starts from nothing, as it should. `seen` holds the storeKey of every entry of the
   * document, malformed ones whose tuple could be read included.
   */
  prune(seen: ReadonlySet<string>): number {
    let closed = 0
    for (const [key] of this.store.range(FIRST_KEY, AFTER_LAST_KEY)) {
      if (seen.has(key.toString('utf8'))) continue
      this.store.delete(key)
      closed++
    }
    return closed
  }
}

const FIRST_KEY = Buffer.alloc(0)
const AFTER_LAST_KEY = Buffer.from([0xff])

/** `<net ns>|<source>|<dest>|<sport>|<dport>`. */
export function storeKey(connection: Pick<TracerConnection, 'netNs' | 'source' | 'dest' | 'sport' | 'dport'>): string {
  return `${connection.netNs}|${connectionKey(connection)}`
}

function encodeCounters(counters: readonly [number, number, number]): Buffer {
  const bytes = Buffer.allocUnsafe(24)
  bytes.writeDoubleBE(counters[0], 0)
  bytes.writeDoubleBE(counters[1], 8)
  bytes.writeDoubleBE(counters[2], 16)
  return bytes
}

function decodeCounters(bytes: Buffer): [number, number, number] {
  return [bytes.readDoubleBE(0), bytes.readDoubleBE(8), bytes.readDoubleBE(16)]
}
