import { hostname } from 'node:os'
import { type ClientIdentity, restoreConsumerConfig } from '../connectors/kafka/client-config.js'
import type { Logger } from '../core/logger.js'
import type { RecordCollector } from '../core/record-collector.js'
import type { DeadLetter } from '../core/record-error.js'
import { isIngested, openSource } from '../sources/open-source.js'
import type { EndOffset, Source } from '../sources/source.js'
import { ChangelogRestorer } from '../state/changelog-restorer.js'
import type { StateDirectory } from '../state/state-directory.js'
import type { StorePartition } from '../state/store-partition.js'
import type { TopologyGraph } from '../topology/graph.js'

/**
 * Which parts of a topology with non-Kafka sources this replica runs: `on` both the sources'
 * ingest and the steps; `only` the ingest (the per-node DaemonSet of a tracer); `off` only the
 * steps, which read what the other replicas ingested (the StatefulSet).
 */
export type IngestMode = 'on' | 'off' | 'only'

/**
 * The non-Kafka sources this replica reads (tracers, the Kubernetes API), each landing its
 * records in its topic through the replica's producer, inside the commit cycle: records
 * computed between two commits go out with that commit (in its transaction, under
 * exactly-once), and the sources' state reaches LMDB after it, like a task's stores.
 */
export class SourceIngest {
  private restorer: Promise<ChangelogRestorer> | undefined
  private restoring: Promise<void> = Promise.resolve()
  private sources: Source[] = []

  private constructor(
    private readonly graph: TopologyGraph,
    private readonly identity: ClientIdentity,
    private readonly log: Logger,
  ) {}

  static async open(
    graph: TopologyGraph,
    directory: StateDirectory,
    identity: ClientIdentity,
    processMs: Map<string, number>,
    log: Logger,
  ): Promise<SourceIngest> {
    const ingest = new SourceIngest(graph, identity, log)
    const context = {
      directory,
      // The lease holder's name: the pod (StatefulSet replicas have stable ones), else host and pid.
      replicaName: identity.instanceId ?? `${hostname()}-${process.pid}`,
      restore: (store: StorePartition) => ingest.restoreStore(store, directory),
      processMs,
      log,
    }
    for (const source of graph.sources.filter(isIngested)) {
      // Two processes reading one source into one state dir would each land the same records.
      directory.lockTask(`source-${source.name}`)
      ingest.sources.push(await openSource(source, context))
    }
    return ingest
  }

  static hasSources(graph: TopologyGraph): boolean {
    return graph.sources.some(isIngested)
  }

  start(): void {
    for (const source of this.sources) source.start()
  }

  /** Lands what the sources read since the last call; the run loop calls it between batches. */
  land(collector: RecordCollector, deadLetter: DeadLetter): number {
    let produced = 0
    for (const source of this.sources) if (source.hasPending) produced += source.land(collector, deadLetter)
    return produced
  }

  /** The commit's first step for sources with changelogs: their store changes, before the flush. */
  sendChangelog(collector: RecordCollector, timestamp: number): void {
    for (const source of this.sources) source.sendChangelog(collector, timestamp)
  }

  /** The commit's last step for sources: their state, now that Kafka has what was computed from it. */
  async checkpoint(directory: StateDirectory, endOffset: EndOffset): Promise<void> {
    for (const source of this.sources) await source.checkpoint(directory, endOffset)
  }

  /** The transaction was aborted: the sources land again what it dropped. */
  rewind(): void {
    for (const source of this.sources) source.rewind()
  }

  /** Stops reading; what was read and not landed is read again by the next run. */
  async stop(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.stop()))
  }

  /** After the last commit: gives up leases and closes the restore consumer. */
  async close(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.close()))
    await (await this.restorer?.catch(() => undefined))?.close()
  }

  /** Read failures by source and code (`source\0code`), for kubestream_source_errors_total. */
  get errors(): Map<string, number> {
    const out = new Map<string, number>()
    for (const source of this.sources)
      for (const [code, count] of source.errors) out.set(`${source.name}\u0000${code}`, count)
    return out
  }

  /** Documents (tracer answers, watch changes) read per source, for kubestream_source_documents_total. */
  get documents(): Map<string, number> {
    return new Map(this.sources.map((source) => [source.name, source.documents]))
  }

  /** Leader-elected sources and whether this replica leads them, for kubestream_source_leader. */
  get leaders(): Map<string, boolean> {
    return new Map(
      this.sources.filter((source) => source.isLeader !== undefined).map((source) => [source.name, source.isLeader!]),
    )
  }

  /** One restore at a time: the sources share one restore consumer, connected when first needed. */
  private restoreStore(store: StorePartition, directory: StateDirectory): Promise<void> {
    const run = this.restoring.then(async () => {
      this.restorer ??= ChangelogRestorer.connect(
        restoreConsumerConfig(this.graph.kafka, `${this.graph.applicationId}-sources`, this.identity),
        this.log,
      )
      const restorer = await this.restorer.catch((error: unknown) => {
        this.restorer = undefined
        throw error
      })
      const [outcome] = await restorer.restore([store], directory)
      this.log.info(
        outcome,
        outcome.records === 0 ? 'landed versions up to date' : 'landed versions restored from the changelog',
      )
    })
    this.restoring = run.catch(() => undefined)
    return run
  }
}
