import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../../core/logger.js'
import type { KubeClient } from './kube-client.js'
import { statusError } from './kubernetes-error.js'

export interface LeaseSettings {
  readonly namespace: string
  readonly name: string
  /** How long a leader holds the lease without renewing it; others take over after. */
  readonly durationMs: number
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string }
  spec: {
    holderIdentity?: string | null
    leaseDurationSeconds?: number
    acquireTime?: string | null
    renewTime?: string | null
    leaseTransitions?: number
  }
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: the
 * holder renews every `durationMs / 3`; a candidate takes the lease once it has seen the same
 * holder and renewTime unchanged for `durationMs` (its own clock, so clock skew between nodes
 * does not matter), or the lease is free. Every write carries the resourceVersion it read, so
 * two candidates cannot both win. A leader that cannot renew within `durationMs * 2/3` steps
 * down before anyone else may take over. `release()` frees the lease on a clean shutdown so the
 * next leader starts at once.
 */
export class LeaseElector {
  private readonly abort = new AbortController()
  private loop: Promise<void> | undefined
  private leading = false
  private observed: { holder: string; renewTime: string; at: number } | undefined
  private lastRenewal = 0
  private current: Lease | undefined

  constructor(
    private readonly client: KubeClient,
    private readonly lease: LeaseSettings,
    readonly identity: string,
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading
  }

  /** Competes until stop(): `onLeading` when this replica becomes the leader, `onStopped` when it loses the lease. */
  run(onLeading: () => void, onStopped: () => void): void {
    this.loop = (async () => {
      // client-go's retry period (2 s), shorter for short leases: a candidate sees a released lease within it.
      const renewEvery = Math.max(100, Math.min(2_000, Math.floor(this.lease.durationMs / 3)))
      let failing = false
      while (!this.abort.signal.aborted) {
        let held = false
        try {
          held = await this.tryAcquireOrRenew()
          failing = false
        } catch (error) {
          // Once per outage at warn, the retries at debug.
          this.log[failing ? 'debug' : 'warn'](
            { lease: this.describe, err: (error as Error).message },
            'cannot read or write the lease',
          )
          failing = true
        }
        if (this.abort.signal.aborted) return
        if (held) this.lastRenewal = Date.now()
        if (held && !this.leading) {
          this.leading = true
          this.log.info({ lease: this.describe, identity: this.identity }, 'became the leader')
          onLeading()
        } else if (this.leading && Date.now() - this.lastRenewal > (this.lease.durationMs * 2) / 3) {
          this.leading = false
          this.log.warn(
            { lease: this.describe, identity: this.identity },
            'could not renew the lease in time; stepping down',
          )
          onStopped()
        }
        await sleep(renewEvery, undefined, { signal: this.abort.signal }).catch(() => undefined)
      }
    })()
  }

  /** Stops competing (and renewing); the lease stays held until release() or it expires. */
  async stop(): Promise<void> {
    this.abort.abort()
    await this.loop
  }

  /** Gives the lease up if this replica holds it: the next candidate takes it on its next try. */
  async release(): Promise<void> {
    await this.stop()
    if (!this.leading || !this.current) return
    this.leading = false
    const released: Lease = {
      ...this.current,
      spec: {
        ...this.current.spec,
        holderIdentity: null,
        leaseDurationSeconds: 1,
        renewTime: toMicroTime(new Date().toISOString()),
      },
    }
    try {
      const { status, body } = await this.client.request('PUT', this.path(this.lease.name), released, 5_000)
      if (status === 200) this.log.info({ lease: this.describe, identity: this.identity }, 'released the lease')
      else
        this.log.warn(
          { lease: this.describe, status, err: statusMessage(body) },
          'the apiserver refused to release the lease; the next leader waits for it to expire',
        )
    } catch (error) {
      this.log.warn(
        { lease: this.describe, err: (error as Error).message },
        'could not release the lease; the next leader waits for it to expire',
      )
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date().toISOString()
    const { status, body } = await this.client.request<Lease>('GET', this.path(this.lease.name))
    if (status === 404) {
      const created = await this.client.request<Lease>(
        'POST',
        this.path(),
        this.record({ metadata: { name: this.lease.name, namespace: this.lease.namespace }, spec: {} }, now, 0),
      )
      if (created.status === 409) return false
      if (created.status !== 201)
        throw statusError(
          created.status,
          `create lease ${this.describe}: HTTP ${created.status}: ${statusMessage(created.body)}`,
        )
      this.current = created.body
      return true
    }
    if (status !== 200) throw statusError(status, `get lease ${this.describe}: HTTP ${status}: ${statusMessage(body)}`)
    const holder = body.spec.holderIdentity ?? ''
    const renewTime = body.spec.renewTime ?? ''
    if (holder !== this.identity && holder !== '') {
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime)
        this.observed = { holder, renewTime, at: Date.now() }
      const duration = (body.spec.leaseDurationSeconds ?? this.lease.durationMs / 1000) * 1000
      if (Date.now() - this.observed.at < duration) return false
    }
    const transitions = (body.spec.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1)
    const updated = await this.client.request<Lease>(
      'PUT',
      this.path(this.lease.name),
      this.record(body, holder === this.identity ? (body.spec.acquireTime ?? now) : now, transitions, now),
    )
    if (updated.status === 409) return false
    if (updated.status !== 200)
      throw statusError(
        updated.status,
        `update lease ${this.describe}: HTTP ${updated.status}: ${statusMessage(updated.body)}`,
      )
    this.current = updated.body
    return true
  }

  private record(lease: Lease, acquireTime: string, transitions: number, renewTime = acquireTime): Lease {
    return {
      ...lease,
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.max(1, Math.round(this.lease.durationMs / 1000)),
        acquireTime: toMicroTime(acquireTime),
        renewTime: toMicroTime(renewTime),
        leaseTransitions: transitions,
      },
    } as Lease
  }

  private path(name?: string): string {
    const leases = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.lease.namespace)}/leases`
    return name ? `${leases}/${encodeURIComponent(name)}` : leases
  }

  private get describe(): string {
    return `${this.lease.namespace}/${this.lease.name}`
  }
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function toMicroTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z')
}

/** The `message` of a Kubernetes Status answer: why a write was refused. */
function statusMessage(body: unknown): string {
  return (body as { message?: string } | undefined)?.message ?? ''
}
