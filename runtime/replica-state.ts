import { mkdirSync } from 'node:fs'
import { type ClientIdentity, restoreConsumerConfig } from '../connectors/kafka/client-config.js'
import type { Logger } from '../core/logger.js'
import type { DeadLetter } from '../core/record-error.js'
import { ChangelogRestorer } from '../state/changelog-restorer.js'
import { GlobalTables } from '../state/global-tables.js'
import { partitionKey } from '../state/internals/changelog-consumer.js'
import type { KeyValueStore } from '../state/key-value-store.js'
import { StandbyStores } from '../state/standby-stores.js'
import { StateDirectory } from '../state/state-directory.js'
import type { CompiledTopology } from '../topology/compile.js'
import type { TopologyGraph } from '../topology/graph.js'
import type { TopicLayout } from './internal-topics.js'
import type { StreamTask } from './stream-task.js'
import type { LocalState } from './stream-thread.js'

/**
 * This replica's local state (Kafka Streams' StateDirectory and StoreChangelogReader as the
 * stream thread uses them): the LMDB state dir, the consumer that restores changelogs, and the
 * global tables. Opened at start only for topologies that have stores or global tables.
 */
export class ReplicaState implements LocalState {
  private constructor(
    readonly directory: StateDirectory,
    private readonly restorer: ChangelogRestorer | undefined,
    private readonly globalTables: GlobalTables | undefined,
    private readonly standbys: StandbyStores | undefined,
    private readonly log: Logger,
  ) {}

  /** Opens the state dir, connects the restore consumer and loads every global table to its end. */
  static async open(options: {
    compiled: CompiledTopology
    graph: TopologyGraph
    identity: ClientIdentity
    dir: string
    layout: TopicLayout
    deadLetter: DeadLetter
    log: Logger
    /** Something else keeps state here too (a tracer source's counters). */
    sourcesWithState: boolean
    /** False where this replica only ingests: it needs no stores, restore or global tables. */
    runsSteps: boolean
  }): Promise<ReplicaState | undefined> {
    const { graph, identity, log } = options
    const compiled = options.runsSteps ? options.compiled : { ...options.compiled, subTopologies: [], globalTables: [] }
    const hasStores = compiled.subTopologies.some((sub) => sub.stores.size > 0)
    if (!hasStores && compiled.globalTables.length === 0 && !options.sourcesWithState) return undefined
    mkdirSync(options.dir, { recursive: true })
    const directory = StateDirectory.open(options.dir, graph.applicationId)
    const restorer = hasStores
      ? await ChangelogRestorer.connect(restoreConsumerConfig(graph.kafka, graph.applicationId, identity), log)
      : undefined
    let globalTables: GlobalTables | undefined
    if (compiled.globalTables.length > 0) {
      const config = restoreConsumerConfig(graph.kafka, `${graph.applicationId}-global`, identity)
      globalTables = await GlobalTables.connect(config, compiled.globalTables, directory, options.deadLetter, log)
      await globalTables.bootstrap(options.layout.sourceTopics)
    }
    let standbys: StandbyStores | undefined
    if (hasStores && graph.processing.standbyReplicas > 0) {
      const candidates = compiled.subTopologies.flatMap((sub) =>
        [...sub.stores.values()].flatMap((store) =>
          Array.from({ length: options.layout.subTopologies.get(sub.id) ?? 0 }, (_, partition) => ({
            store: store.name,
            changelogTopic: store.changelogTopic,
            partition,
          })),
        ),
      )
      standbys = await StandbyStores.connect(
        restoreConsumerConfig(graph.kafka, `${graph.applicationId}-standby`, identity),
        directory,
        candidates,
        log,
      )
      standbys.setActive(new Set())
    }
    return new ReplicaState(directory, restorer, globalTables, standbys, log)
  }

  get restoredRecords(): number {
    return this.restorer?.restoredRecords ?? 0
  }

  /** Records of global tables' topics applied to their local stores. */
  get globalTableRecords(): number {
    return this.globalTables?.appliedRecords ?? 0
  }

  /** Changelog records applied to standby copies. */
  get standbyRecords(): number {
    return this.standbys?.appliedRecords ?? 0
  }

  /** The tasks running here changed: their stores stop being standby copies, the others are. */
  tasksChanged(tasks: StreamTask[]): void {
    this.standbys?.setActive(
      new Set(
        tasks.flatMap((task) => task.stores?.partitions.map((s) => partitionKey(s.changelogTopic, s.partition)) ?? []),
      ),
    )
  }

  /** Standby copies kept here now; undefined when standbys are off. */
  get standbyStores(): StandbyStores | undefined {
    return this.standbys
  }

  globalTable(name: string): KeyValueStore {
    if (!this.globalTables) throw new Error(`no global table "${name}"`)
    return this.globalTables.store(name)
  }

  /**
   * Applies global table updates and standby changelog records that arrived since the last call; the run loop calls it
   * between batches.
   */
  async poll(): Promise<void> {
    await this.globalTables?.poll()
    await this.standbys?.poll()
  }

  /** Replays the changelogs of tasks that were just assigned, then lets them process. */
  async restore(tasks: StreamTask[]): Promise<void> {
    const started = Date.now()
    const outcomes = await this.restorer!.restore(
      tasks.flatMap((task) => task.stores?.partitions ?? []),
      this.directory,
    )
    const replayed = outcomes.reduce((sum, o) => sum + o.records, 0)
    this.log.info(
      { tasks: tasks.map((t) => t.id), replayed, ms: Date.now() - started, stores: outcomes },
      replayed === 0 ? 'state up to date; nothing to restore' : 'state restored',
    )
  }

  async close(): Promise<void> {
    await this.restorer?.close()
    await this.globalTables?.close()
    await this.standbys?.close()
    await this.directory.close()
  }
}
