import { setTimeout as sleep } from 'node:timers/promises'
import { KubeClient } from '../../connectors/kubernetes/kube-client.js'
import type { KubernetesError } from '../../connectors/kubernetes/kubernetes-error.js'
import { LeaseElector } from '../../connectors/kubernetes/lease-elector.js'
import { type KubeObject, ListWatch, type WatchChange } from '../../connectors/kubernetes/list-watch.js'
import { backoffMs } from '../../core/backoff.js'
import type { Logger } from '../../core/logger.js'
import type { RecordCollector } from '../../core/record-collector.js'
import { type DeadLetter, RecordError } from '../../core/record-error.js'
import type { StreamRecord } from '../../core/record.js'
import type { StateDirectory } from '../../state/state-directory.js'
import type { StorePartition } from '../../state/store-partition.js'
import type { KubernetesSettings, SourceNode } from '../../topology/graph.js'
import type { EndOffset, Source, SourceContext } from '../source.js'
import { LandedObjects } from './landed-objects.js'
import { EventEnvelopes, type Land, type ObjectLanding, TableLanding } from './object-landing.js'
import { nodeRows, podRows, replicaSetOwner, serviceRows, type Workload, workloadOf } from './object-tables.js'

/** A change from one watch scope: `*` (all namespaces, or cluster-scoped) or a namespace. */
interface ScopedChange {
  readonly scope: string
  readonly change: WatchChange
}

/**
 * The Kubernetes API as a source (Quix Streams' Source, like the tracer's): list + watch of one
 * resource, whose changes land in the source's topic as the event router's envelopes (events) or
 * as table rows by IP (pods, services, nodes). What was landed is remembered per object in a
 * state store, which reaches LMDB and its compacted changelog with the commit, after Kafka has
 * the records. Every start of the watches (process start, leadership gained) and every `410
 * Gone` lists and compares the list with what was landed: only what is new, changed or gone
 * lands. Reconnects within a run resume from the last resourceVersion. With a lease, only the
 * replica holding it watches.
 */
export class KubernetesSource implements Source {
  /** Failures by code, for kubestream_source_errors_total. */
  readonly errors = new Map<string, number>()
  /** Watch changes applied, for kubestream_source_documents_total. */
  documents = 0
  private readonly client: KubeClient
  private readonly landed: LandedObjects
  private readonly landing: ObjectLanding
  private readonly elector: LeaseElector | undefined
  private readonly replicaSets = new Map<string, Workload | null>()
  private pending: ScopedChange[] = []
  /** Changes landed since the last checkpoint: an aborted transaction lands them again. */
  private landedSinceCheckpoint: ScopedChange[] = []
  private watches: ListWatch[] = []
  /** Bumped on every start and stop of the watches: a restore that finishes after a stop must not start them. */
  private generation = 0
  private failing = false
  private pendingRecords: Array<{ key: string; value: unknown; timestamp: number }> = []

  /**
   * Its store of landed versions restores from its changelog before the watches start; in the
   * node-scoped mode it has none, and its state stays on its node.
   */
  static open(source: SourceNode, context: SourceContext): KubernetesSource {
    const settings = source.kubernetes!
    const store = context.directory.storePartition(settings.store, settings.changelogTopic ?? source.topic, 0)
    const restore = settings.changelogTopic ? context.restore : undefined
    return new KubernetesSource(
      source.name,
      source.topic,
      settings,
      store,
      restore,
      context.replicaName,
      context.processMs,
      context.log,
    )
  }

  constructor(
    readonly name: string,
    private readonly topic: string,
    private readonly settings: KubernetesSettings,
    private readonly store: StorePartition,
    private readonly restore: ((store: StorePartition) => Promise<void>) | undefined,
    identity: string,
    private readonly processMs: Map<string, number>,
    private readonly log: Logger,
  ) {
    this.client = KubeClient.load(settings.kubeconfig)
    this.landed = new LandedObjects(store)
    const land: Land = (key, value, timestamp) => this.pendingRecords.push({ key, value, timestamp })
    this.landing = landingFor(settings, this.landed, land, this.replicaSets)
    this.elector = settings.lease ? new LeaseElector(this.client, settings.lease, identity, log) : undefined
  }

  start(): void {
    this.log.info(
      {
        source: this.name,
        resource: this.settings.resource,
        server: this.client.server,
        namespaces: this.settings.namespaces,
        node: this.settings.node,
        topic: this.topic,
        lease: this.settings.lease && `${this.settings.lease.namespace}/${this.settings.lease.name}`,
      },
      'watching the Kubernetes API',
    )
    if (this.elector)
      this.elector.run(
        () => void this.startWatching(),
        () => void this.stopWatching(),
      )
    else void this.startWatching()
  }

  /** Whether this replica holds the lease; undefined without leader election. */
  get isLeader(): boolean | undefined {
    return this.elector?.isLeader
  }

  get hasPending(): boolean {
    return this.pending.length > 0
  }

  /** Lands the changes watched since the last call; what was landed goes to the store's buffer. */
  land(collector: RecordCollector, deadLetter: DeadLetter): number {
    const started = performance.now()
    let produced = 0
    for (const scoped of this.pending.splice(0)) {
      const { scope, change } = scoped
      this.landedSinceCheckpoint.push(scoped)
      this.apply(scope, change, deadLetter)
      for (const { key, value, timestamp } of this.pendingRecords.splice(0)) {
        collector.send({
          topic: this.topic,
          key,
          value: value === null ? null : Buffer.from(JSON.stringify(value)),
          headers: undefined,
          timestamp,
        })
        produced++
      }
      this.documents++
    }
    this.processMs.set(this.name, (this.processMs.get(this.name) ?? 0) + performance.now() - started)
    return produced
  }

  /** Before the flush: the interval's store changes to the changelog (none in the node-scoped mode). */
  sendChangelog(collector: RecordCollector, timestamp: number): void {
    if (!this.settings.changelogTopic) return
    for (const { key, value } of this.store.changes())
      collector.send({ topic: this.settings.changelogTopic, partition: 0, key, value, headers: undefined, timestamp })
  }

  /** After Kafka accepted the records: what was landed, to LMDB, checkpointed at the changelog's end. */
  async checkpoint(directory: StateDirectory, endOffset: EndOffset): Promise<void> {
    this.landedSinceCheckpoint = []
    if (this.store.pendingChanges === 0) return
    // Without a changelog (node-scoped) the checkpoint only counts commits: nothing restores from it.
    const checkpoint = this.settings.changelogTopic
      ? await endOffset(this.settings.changelogTopic, 0)
      : (directory.checkpoint(this.store) ?? 0) + 1
    directory.commit([[this.store, checkpoint]])
  }

  /**
   * The transaction with what was landed since the last checkpoint was aborted: the landed
   * versions go back to the checkpoint and the same changes land again, in order, before any
   * newer one — the records they make are the ones that were dropped. A replica that stopped
   * watching since leaves them to the new leader, whose list compares with the checkpoint.
   */
  rewind(): void {
    this.store.discardChanges()
    const landed = this.landedSinceCheckpoint
    this.landedSinceCheckpoint = []
    if (this.watches.length > 0) this.pending.unshift(...landed)
  }

  /** Stops watching (and competing for the lease); what was watched but not landed is watched again next time. */
  async stop(): Promise<void> {
    await this.elector?.stop()
    await this.stopWatching()
  }

  /** After the last commit: lets the next leader start at once. */
  async close(): Promise<void> {
    await this.elector?.release()
  }

  private async startWatching(): Promise<void> {
    const generation = ++this.generation
    // Without what was landed, a list would land everything again: retry the restore until it works.
    for (let failures = 1; ; failures++) {
      try {
        await this.restore?.(this.store)
        break
      } catch (error) {
        this.log[failures === 1 ? 'warn' : 'debug'](
          { source: this.name, err: error },
          'cannot restore what was landed from the changelog; retrying before watching',
        )
        this.count('RESTORE')
        await sleep(backoffMs(failures, this.settings.maxBackoffMs))
        if (generation !== this.generation) return
      }
    }
    if (generation !== this.generation) return
    const scopes = this.settings.namespaces.length > 0 ? [...this.settings.namespaces] : ['*']
    const watch = (resource: string, scope: string, onChange: (change: WatchChange) => void) => {
      const listWatch = new ListWatch(
        this.client,
        {
          path: collectionPath(resource, scope),
          labelSelector: resource === 'replicasets' ? undefined : this.settings.labelSelector,
          fieldSelector: resource === 'pods' && this.settings.node ? `spec.nodeName=${this.settings.node}` : undefined,
          maxBackoffMs: this.settings.maxBackoffMs,
          watchTimeoutSeconds: this.settings.watchTimeoutSeconds,
          idleTimeoutMs: this.settings.idleTimeoutMs,
        },
        (change) => {
          this.recovered()
          onChange(change)
        },
        (error) => this.failed(error),
      )
      this.watches.push(listWatch)
      return listWatch
    }
    const own = (scope: string) =>
      watch(this.settings.resource, scope, (change) => this.pending.push({ scope, change }))
    if (this.settings.resource !== 'pods') {
      for (const scope of scopes) own(scope).start()
      return
    }
    // Pods name their workload through their ReplicaSet's owner: list those first.
    let unlisted = scopes.length
    for (const scope of scopes) {
      let listed = false
      watch('replicasets', scope, (change) => {
        this.rememberReplicaSets(change)
        if (change.type !== 'LISTED' || listed) return
        listed = true
        if (--unlisted === 0 && generation === this.generation) for (const podScope of scopes) own(podScope).start()
      }).start()
    }
  }

  private async stopWatching(): Promise<void> {
    this.generation++
    const watches = this.watches.splice(0)
    await Promise.all(watches.map((watch) => watch.stop()))
    this.pending = []
  }

  private apply(scope: string, change: WatchChange, deadLetter: DeadLetter): void {
    const guarded = (object: KubeObject, action: () => void) => {
      try {
        action()
      } catch (error) {
        deadLetter(
          deadLetterRecord(object),
          new RecordError(
            'DESERIALIZATION',
            `cannot land ${this.settings.resource} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}: ` +
              `${(error as Error).message}`,
          ),
          this.name,
        )
      }
    }
    switch (change.type) {
      case 'LISTED': {
        const listed = new Set(
          change.objects.map((object) => `${object.metadata.namespace ?? ''}\u0000${object.metadata.uid}`),
        )
        for (const object of change.objects) guarded(object, () => this.landing.upsert(object))
        for (const [namespace, uid] of this.landed.inScope(scope === '*' ? undefined : scope)) {
          if (!listed.has(`${namespace}\u0000${uid}`)) this.landing.removeLanded(namespace, uid)
        }
        break
      }
      case 'ADDED':
      case 'MODIFIED':
        guarded(change.object, () => this.landing.upsert(change.object))
        break
      case 'DELETED':
        guarded(change.object, () => this.landing.remove(change.object))
        break
      case 'BOOKMARK':
        break
    }
  }

  private rememberReplicaSets(change: WatchChange): void {
    const key = (object: KubeObject) => `${object.metadata.namespace}/${object.metadata.name}`
    if (change.type === 'LISTED')
      for (const object of change.objects) this.replicaSets.set(key(object), replicaSetOwner(object))
    else if (change.type === 'ADDED' || change.type === 'MODIFIED')
      this.replicaSets.set(key(change.object), replicaSetOwner(change.object))
    else if (change.type === 'DELETED') this.replicaSets.delete(key(change.object))
  }

  private failed(error: KubernetesError): void {
    if (error.code === 'IDLE') {
      this.log.debug({ source: this.name, err: error.message }, 'watch quiet; resuming from the last resourceVersion')
      return
    }
    this.count(error.code)
    // A 410 is routine (the watch fell behind the server's window): it lists again at once.
    const level = error.code === 'GONE' ? 'info' : this.failing ? 'debug' : 'warn'
    this.log[level](
      { source: this.name, code: error.code, err: error.message },
      error.code === 'GONE' ? 'watch expired; listing again' : 'Kubernetes API request failed; retrying with backoff',
    )
    if (error.code !== 'GONE') this.failing = true
  }

  private recovered(): void {
    if (this.failing) this.log.info({ source: this.name }, 'Kubernetes API answers again')
    this.failing = false
  }

  private count(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
  }
}

function landingFor(
  settings: KubernetesSettings,
  landed: LandedObjects,
  land: Land,
  replicaSets: ReadonlyMap<string, Workload | null>,
): ObjectLanding {
  switch (settings.resource) {
    case 'events':
    case 'events.k8s.io':
      return new EventEnvelopes(landed, land)
    case 'pods':
      return new TableLanding(landed, land, (pod) => podRows(pod, (p) => workloadOf(p, replicaSets)))
    case 'services':
      return new TableLanding(landed, land, serviceRows)
    case 'nodes':
      return new TableLanding(landed, land, nodeRows)
  }
}

const API_GROUPS: Record<string, string> = {
  events: '/api/v1',
  pods: '/api/v1',
  services: '/api/v1',
  nodes: '/api/v1',
  'events.k8s.io': '/apis/events.k8s.io/v1',
  replicasets: '/apis/apps/v1',
}

function collectionPath(resource: string, scope: string): string {
  const plural = resource === 'events.k8s.io' ? 'events' : resource
  return `${API_GROUPS[resource]}${scope === '*' ? '' : `/namespaces/${encodeURIComponent(scope)}`}/${plural}`
}

function deadLetterRecord(object: KubeObject): StreamRecord {
  const value = Buffer.from(JSON.stringify(object))
  return {
    key: null,
    value: object,
    headers: {},
    timestamp: Date.now(),
    encodedValue: value,
    origin: {
      topic: `kubernetes:${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`,
      partition: -1,
      offset: -1,
      key: null,
      value,
    },
  }
}
