import type { LibrdkafkaConfig } from '../connectors/kafka/client-config.js'
import type { Logger } from '../core/logger.js'
import { ChangelogConsumer, OFFSET_BEGINNING, partitionKey, runsByPartition } from './internals/changelog-consumer.js'
import type { StateDirectory } from './state-directory.js'
import type { StoreBytes, StorePartition } from './store-partition.js'

/** A store partition of some task, by its changelog partition. */
export interface StandbyCandidate {
  readonly store: string
  readonly changelogTopic: string
  readonly partition: number
}

/**
 * Warm copies of the stores of tasks this replica does not run (Kafka Streams' standby tasks):
 * each tails its changelog partition into the local LMDB store and moves its checkpoint, so
 * when the group hands this replica one of those tasks, its restore replays only the last
 * moments. librdkafka shows no one the group's whole assignment, so there is no placing exactly
 * N copies: every replica keeps a copy of every store partition it does not run.
 */
export class StandbyStores {
  /** Changelog records applied to standby copies since start; read by metrics. */
  appliedRecords = 0
  private readonly stores = new Map<string, StorePartition>()
  private standby = new Set<string>()

  private constructor(
    private readonly consumer: ChangelogConsumer,
    private readonly directory: StateDirectory,
    candidates: readonly StandbyCandidate[],
    private readonly log: Logger,
  ) {
    for (const { store, changelogTopic, partition } of candidates) {
      this.stores.set(
        partitionKey(changelogTopic, partition),
        directory.storePartition(store, changelogTopic, partition),
      )
    }
  }

  static async connect(
    config: LibrdkafkaConfig,
    directory: StateDirectory,
    candidates: readonly StandbyCandidate[],
    log: Logger,
  ): Promise<StandbyStores> {
    return new StandbyStores(await ChangelogConsumer.connect(config, 'standby'), directory, candidates, log)
  }

  /**
   * The store partitions this replica's active tasks own now (by `partitionKey` of their
   * changelog): those stop being standbys (the task restores them from the standby's
   * checkpoint) and the others become or stay standbys, each read from its checkpoint.
   */
  setActive(active: ReadonlySet<string>): void {
    const next = new Set([...this.stores.keys()].filter((key) => !active.has(key)))
    if (next.size === this.standby.size && [...next].every((key) => this.standby.has(key))) return
    this.standby = next
    const assignment = [...next].map((key) => {
      const store = this.stores.get(key)!
      return {
        topic: store.changelogTopic,
        partition: store.partition,
        offset: this.directory.checkpoint(store) ?? OFFSET_BEGINNING,
      }
    })
    this.consumer.assign(assignment)
    this.log.info({ standbys: assignment.map((a) => `${a.topic}-${a.partition}`) }, 'standby store copies')
  }

  /**
   * The standby copy of a store partition kept here, read-only, with how many changelog records
   * it is behind the end its consumer last saw (transaction markers count); undefined when this
   * replica keeps no copy of it now.
   */
  copy(changelogTopic: string, partition: number): { bytes: StoreBytes; lagRecords: number | undefined } | undefined {
    const key = partitionKey(changelogTopic, partition)
    const store = this.stores.get(key)
    if (!store || !this.standby.has(key)) return undefined
    const end = this.consumer.fetchedEnd(changelogTopic, partition)
    const applied = this.directory.checkpoint(store) ?? 0
    return { bytes: store.committed(), lagRecords: end === undefined ? undefined : Math.max(0, end - applied) }
  }

  /** The store partitions kept here as standby copies now. */
  standbyPartitions(): Array<{ store: string; partition: number }> {
    return [...this.standby].map((key) => {
      const { storeName, partition } = this.stores.get(key)!
      return { store: storeName, partition }
    })
  }

  /** Applies what the changelogs brought since the last call, without waiting for more. */
  async poll(): Promise<void> {
    // A run fetched before its task became active here is left out: the task's restore covers it.
    const runs = [...runsByPartition(await this.consumer.consume(1_000, 0))].filter(([key]) => this.standby.has(key))
    if (runs.length === 0) return
    this.directory.restore(
      runs.map(([key, run]) => ({
        store: this.stores.get(key)!,
        records: run,
        nextOffset: run[run.length - 1].offset + 1,
      })),
    )
    for (const [, run] of runs) this.appliedRecords += run.length
  }

  close(): Promise<void> {
    return this.consumer.close()
  }
}
