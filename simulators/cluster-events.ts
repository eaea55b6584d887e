/**
 * Synthetic EventRouter envelopes (`{"verb","event","old_event"}`) shaped like a real cluster's:
 * pods scheduled, pulled, started, crash-looping, failing probes and scheduling, over many
 * namespaces; repeats patch count and lastTimestamp on the same Event (UPDATED with a new
 * resourceVersion); informer resyncs re-send an Event unchanged (UPDATED, same resourceVersion);
 * and now and then a message that is not a usable envelope at all.
 * Seeded, so a test can regenerate exactly what it produced.
 */

export type EnvelopeKind = 'added' | 'repeat' | 'resync' | 'malformed'

export interface GeneratedEnvelope {
  kind: EnvelopeKind
  /** The Kafka key the event router sets: the involved object's name. */
  key: string
  value: Buffer
  namespace?: string
  uid?: string
  verb?: 'ADDED' | 'UPDATED'
  type?: string
  reason?: string
}

export interface GeneratorOptions {
  seed?: number
  namespaces?: string[]
  /** Share of messages that repeat a live event (count + 1). */
  repeatRate?: number
  /** Share of messages that are informer resyncs (no change). */
  resyncRate?: number
  /** Share of messages that are not valid envelopes. */
  malformedRate?: number
  /**
   * Epoch ms of the first event; events advance ~25 ms each. Default: two hours ago, on the hour.
   * Not a fixed date: outputs and repartition records carry event time, and a broker deletes
   * records older than its retention (7 days by default) however recently they were written.
   */
  startTime?: number
  /**
   * Events happen now: each one's time is the wall clock when it is generated, as on a live
   * cluster written at a steady rate (a broker refuses records more than an hour ahead of it,
   * which ~25 ms an event reaches within seconds at thousands of events a second).
   */
  live?: boolean
}

export const DEFAULT_NAMESPACES = [
  'default',
  'kube-system',
  'shop',
  'payments',
  'checkout',
  'monitoring',
  'ingress-nginx',
  'data-pipeline',
  'auth',
  'search',
  'ml-training',
  'cert-manager',
]

interface Reason {
  type: 'Normal' | 'Warning'
  reason: string
  component: string
  message: (pod: string, ns: string, node: string) => string
}

const REASONS: Reason[] = [
  {
    type: 'Normal',
    reason: 'Scheduled',
    component: 'default-scheduler',
    message: (p, ns, n) => `Successfully assigned ${ns}/${p} to ${n}`,
  },
  {
    type: 'Normal',
    reason: 'Pulling',
    component: 'kubelet',
    message: (p) => `Pulling image "registry.internal/${p.split('-')[0]}:1.24.3"`,
  },
  {
    type: 'Normal',
    reason: 'Pulled',
    component: 'kubelet',
    message: (p) =>
      `Successfully pulled image "registry.internal/${p.split('-')[0]}:1.24.3" in 1.482s (1.482s including ` +
      `waiting). Image size: 48213977 bytes.`,
  },
  { type: 'Normal', reason: 'Created', component: 'kubelet', message: (p) => `Created container ${p.split('-')[0]}` },
  { type: 'Normal', reason: 'Started', component: 'kubelet', message: (p) => `Started container ${p.split('-')[0]}` },
  { type: 'Normal', reason: 'Killing', component: 'kubelet', message: (p) => `Stopping container ${p.split('-')[0]}` },
  {
    type: 'Warning',
    reason: 'BackOff',
    component: 'kubelet',
    message: (p, ns) => `Back-off restarting failed container ${p.split('-')[0]} in pod ${p}_${ns}`,
  },
  {
    type: 'Warning',
    reason: 'FailedScheduling',
    component: 'default-scheduler',
    message: () =>
      '0/6 nodes are available: 2 Insufficient memory, 4 node(s) had untolerated taint ' +
      '{node-role.kubernetes.io/control-plane: }. preemption: 0/6 nodes are available: 2 No preemption victims ' +
      'found for incoming pod, 4 Preemption is not helpful for scheduling.',
  },
  {
    type: 'Warning',
    reason: 'Unhealthy',
    component: 'kubelet',
    message: () =>
      'Readiness probe failed: Get "http://10.244.3.17:8080/healthz": context deadline exceeded (Client.Timeout ' +
      'exceeded while awaiting headers)',
  },
  {
    type: 'Warning',
    reason: 'FailedMount',
    component: 'kubelet',
    message: (p) =>
      `MountVolume.SetUp failed for volume "${p.split('-')[0]}-config" : configmap "${p.split('-')[0]}-config" ` +
      `not found`,
  },
]

const APPS = ['web', 'api', 'worker', 'cache', 'db-proxy', 'ingest', 'scheduler', 'gateway', 'exporter', 'indexer']
const LIVE_EVENTS = 400

interface LiveEvent {
  event: K8sEvent
}
type K8sEvent = Record<string, unknown> & {
  metadata: { uid: string; namespace: string; resourceVersion: string; [field: string]: unknown }
  count: number
  lastTimestamp: string
  type: string
  reason: string
  involvedObject: { name: string; [field: string]: unknown }
}

export class ClusterEventGenerator {
  private readonly random: () => number
  private readonly namespaces: string[]
  private readonly live: LiveEvent[] = []
  private resourceVersion = 880_000
  private clock: number
  private readonly happeningNow: boolean
  private readonly rates: Required<Pick<GeneratorOptions, 'repeatRate' | 'resyncRate' | 'malformedRate'>>

  constructor(options: GeneratorOptions = {}) {
    this.random = mulberry32(options.seed ?? 1)
    this.namespaces = options.namespaces ?? DEFAULT_NAMESPACES
    this.clock = options.startTime ?? twoHoursAgo()
    this.happeningNow = options.live ?? false
    this.rates = {
      repeatRate: options.repeatRate ?? 0.25,
      resyncRate: options.resyncRate ?? 0.1,
      malformedRate: options.malformedRate ?? 0.005,
    }
  }

  next(): GeneratedEnvelope {
    const step = Math.floor(this.random() * 50)
    this.clock = this.happeningNow ? Date.now() : this.clock + step
    const roll = this.random()
    const { malformedRate, resyncRate, repeatRate } = this.rates
    if (roll < malformedRate) return this.malformed()
    if (this.live.length > 0 && roll < malformedRate + resyncRate) return this.resync()
    if (this.live.length > 0 && roll < malformedRate + resyncRate + repeatRate) return this.repeat()
    return this.added()
  }

  private added(): GeneratedEnvelope {
    const namespace = this.pick(this.namespaces)
    const pod = `${this.pick(APPS)}-${this.hex(9)}-${this.hex(5)}`
    const node = `node-${1 + Math.floor(this.random() * 6)}`
    const reason = this.pick(REASONS)
    const at = this.timestamp()
    const event: K8sEvent = {
      metadata: {
        name: `${pod}.${this.hex(16)}`,
        namespace,
        uid: this.uuid(),
        resourceVersion: String(++this.resourceVersion),
        creationTimestamp: at,
        managedFields: [
          {
            manager: reason.component,
            operation: 'Update',
            apiVersion: 'v1',
            time: at,
            fieldsType: 'FieldsV1',
            fieldsV1: {
              'f:count': {},
              'f:firstTimestamp': {},
              'f:involvedObject': {},
              'f:lastTimestamp': {},
              'f:message': {},
              'f:reason': {},
              'f:source': { 'f:component': {}, 'f:host': {} },
              'f:type': {},
            },
          },
        ],
      },
      involvedObject: {
        kind: 'Pod',
        namespace,
        name: pod,
        uid: this.uuid(),
        apiVersion: 'v1',
        resourceVersion: String(this.resourceVersion - 200),
        fieldPath: `spec.containers{${pod.split('-')[0]}}`,
      },
      reason: reason.reason,
      message: reason.message(pod, namespace, node),
      source: { component: reason.component, host: node },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
      type: reason.type,
      eventTime: null,
      reportingComponent: reason.component,
      reportingInstance: node,
    }
    this.remember(event)
    return this.envelope('added', 'ADDED', event, undefined)
  }

  private repeat(): GeneratedEnvelope {
    const live = this.pick(this.live)
    const old = live.event
    const event: K8sEvent = {
      ...old,
      metadata: { ...old.metadata, resourceVersion: String(++this.resourceVersion) },
      count: old.count + 1,
      lastTimestamp: this.timestamp(),
    }
    live.event = event
    return this.envelope('repeat', 'UPDATED', event, old)
  }

  private resync(): GeneratedEnvelope {
    const { event } = this.pick(this.live)
    return this.envelope('resync', 'UPDATED', event, event)
  }

  private malformed(): GeneratedEnvelope {
    const variants = [
      () => '{"verb":"ADDED","event":{"metadata":{"namespace":"shop"', // truncated
      () => 'kubelet: Back-off restarting failed container', // plain text
      () => '{"verb":"ADDED"}', // JSON, but no event in it
      () => '\u0000\u0001\u0002binary', // not text at all
    ]
    return { kind: 'malformed', key: `malformed-${this.hex(6)}`, value: Buffer.from(this.pick(variants)()) }
  }

  private envelope(
    kind: EnvelopeKind,
    verb: 'ADDED' | 'UPDATED',
    event: K8sEvent,
    old: K8sEvent | undefined,
  ): GeneratedEnvelope {
    const body = old ? { verb, event, old_event: old } : { verb, event }
    return {
      kind,
      key: event.involvedObject.name,
      value: Buffer.from(JSON.stringify(body)),
      namespace: event.metadata.namespace,
      uid: event.metadata.uid,
      verb,
      type: event.type,
      reason: event.reason,
    }
  }

  private remember(event: K8sEvent): void {
    if (this.live.length < LIVE_EVENTS) this.live.push({ event })
    else this.live[Math.floor(this.random() * LIVE_EVENTS)] = { event }
  }

  private timestamp(): string {
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z')
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]
  }

  private hex(length: number): string {
    let out = ''
    while (out.length < length)
      out += Math.floor(this.random() * 0x100000000)
        .toString(16)
        .padStart(8, '0')
    return out.slice(0, length)
  }

  private uuid(): string {
    const h = this.hex(32)
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
}

/** A small seeded PRNG: the same seed gives the same cluster. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function twoHoursAgo(): number {
  const hour = 3_600_000
  return Math.floor(Date.now() / hour) * hour - 2 * hour
}
