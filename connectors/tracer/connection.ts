import { isIP } from 'node:net'
import { KubestreamError, type Recovery } from '../../core/kubestream-error.js'

/**
 * One connection of the tracer's `GET /connections` document (../shared/samples/README.md):
 * `source` is always the local end; `monotonic_*` counters grow for the connection's life.
 * The tracer's own `last_*` deltas are per polling client and die with it, so kubestream keeps
 * the monotonic counters it last saw and computes its own deltas (connection-counters.ts).
 */
export interface TracerConnection {
  readonly pid: number
  readonly type: 'tcp' | 'udp'
  readonly family: 'ipv4' | 'ipv6'
  readonly netNs: number
  readonly source: string
  readonly dest: string
  readonly sport: number
  readonly dport: number
  readonly direction: 'outgoing' | 'incoming' | 'unknown'
  readonly sentBytes: number
  readonly recvBytes: number
  readonly retransmits: number
}

/** An entry the tracer sent that cannot be a connection; it goes to the dead-letter topic. */
export class MalformedConnectionError extends KubestreamError<'MALFORMED_CONNECTION'> {
  /** The entry's `<net ns>|<tuple>` when it could be read: its stored counters are kept, not pruned. */
  constructor(
    message: string,
    readonly storeKey?: string,
  ) {
    super('MALFORMED_CONNECTION', message)
  }

  get recovery(): Recovery {
    return 'dead-letter'
  }
}

const TYPES = ['tcp', 'udp'] as const
const FAMILIES = ['ipv4', 'ipv6'] as const
const DIRECTIONS: Record<number, TracerConnection['direction']> = { 0: 'unknown', 1: 'outgoing', 2: 'incoming' }

/** The record key: the IP tuple, `source|dest|sport|dport` (IPv6 addresses keep their colons). */
export function connectionKey(connection: Pick<TracerConnection, 'source' | 'dest' | 'sport' | 'dport'>): string {
  return `${connection.source}|${connection.dest}|${connection.sport}|${connection.dport}`
}

/**
 * Checks and names one entry, or throws a MalformedConnectionError saying what is wrong (with the tuple when it can be
 * read).
 */
export function parseConnection(entry: unknown): TracerConnection {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new MalformedConnectionError('a connection must be a JSON object')
  const e = entry as Record<string, unknown>
  const address = (field: string) => {
    const value = e[field]
    if (typeof value !== 'string' || isIP(value) === 0)
      throw new MalformedConnectionError(`${field} ${JSON.stringify(value)} is not an IP address`)
    return value
  }
  const source = address('source')
  const dest = address('dest')
  const port = (field: string) => {
    const value = e[field]
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65_535)
      throw new MalformedConnectionError(`${field} ${JSON.stringify(value)} is not a port`)
    return value as number
  }
  const sport = port('sport')
  const dport = port('dport')
  const netNs = Number.isSafeInteger(e.net_ns) ? (e.net_ns as number) : 0
  const key = `${netNs}|${connectionKey({ source, dest, sport, dport })}`
  const counter = (field: string) => {
    const value = e[field]
    if (!Number.isSafeInteger(value) || (value as number) < 0)
      throw new MalformedConnectionError(`${field} ${JSON.stringify(value)} is not a counter`, key)
    return value as number
  }
  const code = <T>(field: string, names: readonly T[]) => {
    const value = e[field]
    if (!Number.isInteger(value) || names[value as number] === undefined)
      throw new MalformedConnectionError(`${field} ${JSON.stringify(value)} is not one of 0..${names.length - 1}`, key)
    return names[value as number]
  }
  const type = code('type', TYPES)
  const family = code('family', FAMILIES)
  if ((family === 'ipv4') !== (isIP(source) === 4))
    throw new MalformedConnectionError(`family ${family} does not match source ${source}`, key)
  const direction = DIRECTIONS[e.direction as number] ?? 'unknown'
  return {
    pid: Number.isInteger(e.pid) ? (e.pid as number) : 0,
    type,
    family,
    netNs,
    source,
    dest,
    sport,
    dport,
    direction,
    sentBytes: counter('monotonic_sent_bytes'),
    recvBytes: counter('monotonic_recv_bytes'),
    retransmits: counter('monotonic_retransmits'),
  }
}

/** Both ends on loopback (127.0.0.0/8, ::1, or IPv4-mapped loopback): traffic that never leaves the pod or node. */
export function isLoopbackPair(connection: Pick<TracerConnection, 'source' | 'dest'>): boolean {
  return isLoopback(connection.source) && isLoopback(connection.dest)
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.toLowerCase().startsWith('::ffff:127.')
}
