import { mulberry32 } from './cluster-events.js'

/** A pods-by-ip value (the format examples/network-flows.yaml reads). */
export interface PodRecord {
  name: string
  namespace: string
  uid: string
  node: string
  workload?: { kind: string; name: string }
  labels: Record<string, string>
  hostNetwork: boolean
}

/** A services-by-ip value. */
export interface ServiceRecord {
  name: string
  namespace: string
  type: 'ClusterIP'
  ports: Array<{ name: string; port: number; protocol: 'TCP' | 'UDP'; targetPort: number }>
}

interface SimulatedConnection {
  readonly node: string
  readonly source: string
  readonly dest: string
  readonly sport: number
  readonly dport: number
  readonly udp: boolean
  sent: number
  recv: number
  retransmits: number
}

const DEPLOYMENTS = [
  ['shop', 'frontend'],
  ['shop', 'cart'],
  ['shop', 'checkout'],
  ['shop', 'catalog'],
  ['payments', 'api'],
  ['payments', 'ledger'],
  ['search', 'indexer'],
  ['search', 'query'],
  ['observability', 'collector'],
  ['default', 'batch'],
] as const

export interface NetworkSimulationOptions {
  seed: number
  nodes: number
  /** Connections open at any time, over all nodes. */
  connections: number
  podsPerDeployment?: number
}

/**
 * A small cluster's network as its nodes' tracers would see it, for the demo and the
 * benchmark: pods of several deployments spread over nodes, a ClusterIP service per
 * deployment, and connections from pods to services, to other pods and to the outside, which
 * grow, now and then close (a new one opens in their place) or reset their counters (the same
 * tuple reopened). `tick()` moves time on by one poll; `document(node)` is that node's
 * `GET /connections` answer.
 */
export class NetworkSimulation {
  readonly pods = new Map<string, PodRecord>()
  readonly services = new Map<string, ServiceRecord>()
  readonly nodeNames: string[]
  private readonly random: () => number
  private readonly podIps: string[] = []
  private readonly serviceIps: string[] = []
  private live: SimulatedConnection[] = []
  private nextPort = 32768

  constructor(private readonly options: NetworkSimulationOptions) {
    this.random = mulberry32(options.seed)
    this.nodeNames = Array.from({ length: options.nodes }, (_, i) => `node-${String(i + 1).padStart(2, '0')}`)
    const perDeployment = options.podsPerDeployment ?? 3
    DEPLOYMENTS.forEach(([namespace, name], d) => {
      for (let p = 0; p < perDeployment; p++) {
        const node = this.nodeNames[(d * perDeployment + p) % options.nodes]
        const nodeIndex = this.nodeNames.indexOf(node)
        const ip = `10.244.${nodeIndex}.${10 + d * perDeployment + p}`
        this.pods.set(ip, {
          name: `${name}-7d9c${d}-${p.toString(36)}x${d}`,
          namespace,
          uid: `uid-${d}-${p}`,
          node,
          workload: { kind: 'Deployment', name },
          labels: { app: name },
          hostNetwork: false,
        })
        this.podIps.push(ip)
      }
      const serviceIp = `10.96.${d}.${10 + d}`
      this.services.set(serviceIp, {
        name,
        namespace,
        type: 'ClusterIP',
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      })
      this.serviceIps.push(serviceIp)
    })
    for (let i = 0; i < options.connections; i++) this.live.push(this.open())
  }

  /** One poll interval passes: traffic on every connection, about 2% close (and are replaced), 0.5% reset. */
  tick(): void {
    const random = this.random
    this.live = this.live.map((c) => {
      const roll = random()
      if (roll < 0.02) return this.open()
      if (roll < 0.025) return { ...c, sent: 0, recv: 0, retransmits: 0 }
      c.sent += Math.floor(random() * 4_000)
      c.recv += Math.floor(random() * 40_000)
      if (random() < 0.05) c.retransmits += 1
      return c
    })
  }

  /** The node's `/connections` document, in the tracer's format; without a node, every node's connections in one. */
  document(node?: string): string {
    const connections = []
    for (const c of this.live) {
      if (node !== undefined && c.node !== node) continue
      connections.push({
        pid: 1000 + (c.sport % 5000),
        type: c.udp ? 1 : 0,
        family: 0,
        net_ns: 4026532000 + (c.sport % 7),
        source: c.source,
        dest: c.dest,
        sport: c.sport,
        dport: c.dport,
        direction: 1,
        monotonic_sent_bytes: c.sent,
        last_sent_bytes: 0,
        monotonic_recv_bytes: c.recv,
        last_recv_bytes: 0,
        monotonic_retransmits: c.retransmits,
        last_retransmits: 0,
        last_update_epoch: 11457291007926788,
      })
    }
    return JSON.stringify({ connections })
  }

  private open(): SimulatedConnection {
    const random = this.random
    const source = this.podIps[Math.floor(random() * this.podIps.length)]
    const roll = random()
    const [dest, dport, udp] =
      roll < 0.6
        ? [this.serviceIps[Math.floor(random() * this.serviceIps.length)], 80, false]
        : roll < 0.85
          ? [this.podIps[Math.floor(random() * this.podIps.length)], 8080, false]
          : roll < 0.95
            ? ['10.96.0.10', 53, true]
            : [`203.0.113.${Math.floor(random() * 20)}`, 443, false]
    this.nextPort = this.nextPort >= 60999 ? 32768 : this.nextPort + 1
    return {
      node: this.pods.get(source)!.node,
      source,
      dest,
      sport: this.nextPort,
      dport,
      udp,
      sent: 0,
      recv: 0,
      retransmits: 0,
    }
  }
}
