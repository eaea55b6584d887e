import Kafka from 'node-rdkafka'
import type { LibrdkafkaConfig } from '../connectors/kafka/client-config.js'
import type { Logger } from '../runtime/logger.js'
import type { StateDirectory } from './state-directory.js'
import { StateError } from './state-error.js'
import type { StorePartition } from './store-partition.js'

const { CODES } = Kafka

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
    private readonly consumer: Kafka.KafkaConsumer,
    private readonly directory: StateDirectory,
    candidates: readonly StandbyCandidate[],
    private readonly log: Logger,
  ) {
    for (const { store, changelogTopic, partition } of candidates) {
      this.stores.set(id(changelogTopic, partition), directory.storePartition(store, changelogTopic, partition))
    }
  }

  static async connect(config: LibrdkafkaConfig, directory: StateDirectory, candidates: readonly StandbyCandidate[], log: Logger): Promise<StandbyStores> {
    const consumer = new Kafka.KafkaConsumer({ ...config, 'enable.auto.commit': false } as Kafka.ConsumerGlobalConfig, {})
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 30_000 }, (error) => (error ? reject(new StateError('RESTORE', `standby consumer cannot connect: ${error.message}`, true, { cause: error })) : resolve())))
    consumer.setDefaultConsumeTimeout(0)
    return new StandbyStores(consumer, directory, candidates, log)
  }

  /**
   * The store partitions this replica's active tasks own now: those stop being standbys (the
   * task restores them from the standby's checkpoint) and the others become or stay standbys,
   * each read from its checkpoint.
   */
  setActive(active: ReadonlySet<string>): void {
    const next = new Set([...this.stores.keys()].filter((key) => !active.has(key)))
    if (next.size === this.standby.size && [...next].every((key) => this.standby.has(key))) return
    this.standby = next
    const assignment = [...next].map((key) => {
      const store = this.stores.get(key)!
      return { topic: store.changelogTopic, partition: store.partition, offset: this.directory.checkpoint(store) ?? OFFSET_BEGINNING }
    })
    this.consumer.assign(assignment)
    this.log.info({ standbys: assignment.map((a) => `${a.topic}-${a.partition}`) }, 'standby store copies')
  }

  /** Applies what the changelogs brought since the last call, without waiting for more. */
  async poll(): Promise<void> {
    const messages = await new Promise<Kafka.Message[]>((resolve, reject) => {
      this.consumer.consume(1_000, (error, batch) => {
        if (!error) return resolve(batch)
        if (error.code === CODES.ERRORS.ERR__TIMED_OUT || error.code === CODES.ERRORS.ERR__PARTITION_EOF) return resolve([])
        reject(new StateError('RESTORE', `reading a changelog for a standby failed: ${error.message}`, true, { cause: error }))
      })
    })
    const runs = new Map<string, Kafka.Message[]>()
    for (const message of messages) {
      const key = id(message.topic, message.partition)
      // Fetched before its task became active here: the task's own restore covers it.
      if (!this.standby.has(key)) continue
      let run = runs.get(key)
      if (!run) runs.set(key, (run = []))
      run.push(message)
    }
    if (runs.size === 0) return
    this.directory.restore([...runs].map(([key, run]) => ({
      store: this.stores.get(key)!,
      records: run.map((m) => ({ key: Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key ?? '')), value: m.value ?? null })),
      nextOffset: run[run.length - 1].offset + 1,
    })))
    this.appliedRecords += messages.length
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.consumer.disconnect(() => resolve()))
  }
}

/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2

export function standbyKey(changelogTopic: string, partition: number): string {
  return id(changelogTopic, partition)
}

function id(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
