/**
 * The test's own account of what a tracer's documents mean, written apart from the engine:
 * per-connection deltas of monotonic counters (a connection first seen counts whole, counters
 * that went down mean a new connection on the tuple, a connection missing from a document
 * closed), and the workload names the network-flows example gives IPs.
 */
export type Tuple = readonly [source: string, dest: string, sport: number, dport: number]
export interface Counters {
  sent: number
  recv: number
  retransmits: number
}

export function tracerEntry(
  tuple: Tuple,
  counters: Counters,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const [source, dest, sport, dport] = tuple
  return {
    pid: 1000 + (sport % 100),
    type: 0,
    family: source.includes(':') ? 1 : 0,
    net_ns: 4026532000,
    source,
    dest,
    sport,
    dport,
    direction: 1,
    monotonic_sent_bytes: counters.sent,
    last_sent_bytes: 0,
    monotonic_recv_bytes: counters.recv,
    last_recv_bytes: 0,
    monotonic_retransmits: counters.retransmits,
    last_retransmits: 0,
    last_update_epoch: 11457291007926788,
    ...extra,
  }
}

export class DeltaModel {
  private last = new Map<string, Counters>()

  /** The deltas one document adds, per tuple. */
  next(document: ReadonlyArray<readonly [Tuple, Counters]>): Array<[Tuple, Counters]> {
    const seen = new Map<string, Counters>()
    const out: Array<[Tuple, Counters]> = []
    for (const [tuple, now] of document) {
      const before = this.last.get(tuple.join('|'))
      const reset =
        before !== undefined &&
        (now.sent < before.sent || now.recv < before.recv || now.retransmits < before.retransmits)
      const base = before === undefined || reset ? { sent: 0, recv: 0, retransmits: 0 } : before
      out.push([
        tuple,
        { sent: now.sent - base.sent, recv: now.recv - base.recv, retransmits: now.retransmits - base.retransmits },
      ])
      seen.set(tuple.join('|'), now)
    }
    this.last = seen
    return out
  }
}

export interface PodValue {
  name: string
  namespace: string
  workload?: { kind: string; name: string }
}
export interface ServiceValue {
  name: string
  namespace: string
}

/** "<namespace>/<workload or pod>" for a pod IP, "<namespace>/<service>" for a ClusterIP, else the IP. */
export function workloadOf(
  ip: string,
  pods: ReadonlyMap<string, PodValue>,
  services: ReadonlyMap<string, ServiceValue>,
  asDestination: boolean,
): string {
  const pod = pods.get(ip)
  if (pod) return `${pod.namespace}/${pod.workload?.name ?? pod.name}`
  const service = asDestination ? services.get(ip) : undefined
  if (service) return `${service.namespace}/${service.name}`
  return ip
}
