import { hostname } from 'node:os'
import { type ClientIdentity, restoreConsumerConfig } from '../connectors/kafka/client-config.js'
import type { RecordCollector } from '../core/record-collector.js'
import { KubernetesSource } from '../connectors/kubernetes/kubernetes-source.js'
import { TracerSource } from '../connectors/tracer/tracer-source.js'
import type { StreamRecord } from '../core/record.js'
import type { RecordError } from '../core/record-error.js'
import { ChangelogRestorer } from '../state/changelog-restorer.js'
import type { StateDirectory } from '../state/state-directory.js'
import type { StorePartition } from '../state/store-partition.js'
import type { TopologyGraph } from '../topology/graph.js'
import type { Logger } from '../core/logger.js'

/**
 * Which parts of a topology with non-Kafka sources this replica runs: `on` both the sources'
 * ingest and the steps; `only` the ingest (the per-node DaemonSet of a tracer); `off` only the
 * steps, which read what the other replicas ingested (the StatefulSet).
 */
export type IngestMode = 'on' | 'off' | 'only'

type DeadLetter = (record: StreamRecord, error: RecordError, step: string) => void

/**
 * The non-Kafka sources this replica reads (tracers, the Kubernetes API), each landing its
 * records in its topic through the replica's producer, inside the commit cycle: records
 * computed between two commits go out with that commit (in its transaction, under
 * exactly-once), and the sources' state reaches LMDB after it, like a task's stores.
 */
export class SourceIngest {
  private restoring: Promise<void> = Promise.resolve()

  private constructor(
    private readonly tracers: TracerSource[],
    private readonly kubernetes: KubernetesSource[],
    private readonly restorer: ChangelogRestorer | undefined,
  ) {}

  static async open(graph: TopologyGraph, directory: StateDirectory, identity: ClientIdentity, processMs: Map<string, number>, log: Logger): Promise<SourceIngest> {
    // Two processes reading one source into one state dir would each land the same records.
    const claim = (name: string) => directory.lockTask(`source-${name}`)
    const tracers = graph.sources.filter((source) => source.tracer).map((source) => {
      claim(source.name)
      const settings = source.tracer!
      return new TracerSource(source.name, source.topic, settings, directory.storePartition(settings.store, source.topic, 0), directory, processMs, log)
    })
    const watched = graph.sources.filter((source) => source.kubernetes)
    const restorer = watched.some((source) => source.kubernetes!.changelogTopic)
      ? await ChangelogRestorer.connect(restoreConsumerConfig(graph.kafka, `${graph.applicationId}-sources`, identity), log)
      : undefined
    const ingest = new SourceIngest(tracers, [], restorer)
    // The lease holder's name: the pod (StatefulSet replicas have stable ones), else host and pid.
    const holder = identity.instanceId ?? `${hostname()}-${process.pid}`
    for (const source of watched) {
      claim(source.name)
      const settings = source.kubernetes!
      const store = directory.storePartition(settings.store, settings.changelogTopic ?? source.topic, 0)
      const restore = settings.changelogTopic ? (partition: StorePartition) => ingest.restoreStore(partition, directory, log) : undefined
      ingest.kubernetes.push(new KubernetesSource(source.name, source.topic, settings, store, restore, holder, processMs, log))
    }
    return ingest
  }

  static hasSources(graph: TopologyGraph): boolean {
    return graph.sources.some((source) => source.tracer || source.kubernetes)
  }

  start(): void {
    for (const tracer of this.tracers) tracer.start()
    for (const source of this.kubernetes) source.start()
  }

  /** Lands what the sources read since the last call; the run loop calls it between batches. */
  drain(collector: RecordCollector, deadLetter: DeadLetter): number {
    let produced = 0
    for (const source of this.sources) if (source.hasPending) produced += source.drain(collector, deadLetter)
    return produced
  }

  /** The commit's first step for sources with changelogs: their store changes, before the flush. */
  sendChangelog(collector: RecordCollector, timestamp: number): void {
    for (const source of this.kubernetes) source.sendChangelog(collector, timestamp)
  }

  /** The commit's last step for sources: their state, now that Kafka has what was computed from it. */
  async commit(directory: StateDirectory, endOffset: (topic: string, partition: number) => Promise<number>): Promise<void> {
    for (const tracer of this.tracers) tracer.commit(directory)
    for (const source of this.kubernetes) await source.commit(directory, endOffset)
  }

  /** Stops reading; what was read and not landed is read again by the next run. */
  async stop(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.stop()))
  }

  /** After the last commit: gives up leases and closes the restore consumer. */
  async close(): Promise<void> {
    await Promise.all(this.kubernetes.map((source) => source.release()))
    await this.restorer?.close()
  }

  /** Read failures by source and code (`source\0code`), for kubestream_source_errors_total. */
  get errors(): Map<string, number> {
    const out = new Map<string, number>()
    for (const source of this.sources) for (const [code, count] of source.errors) out.set(`${source.name}\u0000${code}`, count)
    return out
  }

  /** Documents (tracer answers, watch changes) read per source, for kubestream_source_documents_total. */
  get documents(): Map<string, number> {
    return new Map(this.sources.map((source) => [source.name, source.documents]))
  }

  /** Leader-elected sources and whether this replica leads them, for kubestream_source_leader. */
  get leaders(): Map<string, boolean> {
    return new Map(this.kubernetes.filter((source) => source.isLeader !== undefined).map((source) => [source.name, source.isLeader!]))
  }

  private get sources(): Array<TracerSource | KubernetesSource> {
    return [...this.tracers, ...this.kubernetes]
  }

  /** One restore at a time: the sources share one restore consumer. */
  private restoreStore(store: StorePartition, directory: StateDirectory, log: Logger): Promise<void> {
    const run = this.restoring.then(async () => {
      const [outcome] = await this.restorer!.restore([store], directory)
      log.info(outcome, outcome.records === 0 ? 'landed versions up to date' : 'landed versions restored from the changelog')
    })
    this.restoring = run.catch(() => undefined)
    return run
  }
}
