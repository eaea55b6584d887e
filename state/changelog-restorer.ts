import type { LibrdkafkaConfig } from '../connectors/kafka/client-config.js'
import type { Logger } from '../core/logger.js'
import {
  ChangelogConsumer,
  type ChangelogRecord,
  partitionKey,
  runsByPartition,
} from './internals/changelog-consumer.js'
import type { StateDirectory } from './state-directory.js'
import type { StorePartition } from './store-partition.js'

const PROGRESS_EVERY_MS = 2_000
/**
 * Records per consume call, and so per LMDB transaction (not flushed to disk: see
 * StateDirectory#write). Larger batches restored faster while each transaction waited for the
 * disk; 6,000 and more doubled the anonymous memory.
 */
const BATCH = 1_000

/** What one restore did, per store partition. */
export interface RestoreOutcome {
  readonly store: string
  readonly partition: number
  /** Where replay started: the checkpoint, or 0 when there was none. */
  readonly from: number
  /** The changelog's end: the new checkpoint. */
  readonly to: number
  readonly records: number
}

interface Pending {
  readonly store: StorePartition
  readonly from: number
  readonly end: number
  records: number
}

/**
 * Replays changelog partitions into their stores before a task processes (Kafka Streams'
 * StoreChangelogReader). Each store starts at its checkpoint, so a restart with an intact
 * state dir replays only the tail — nothing at all after a clean stop — and a deleted state
 * dir is rebuilt from offset 0. A checkpoint the changelog no longer covers (the topic was
 * recreated or truncated) wipes the store first. Each batch is applied with the new
 * checkpoints in one LMDB transaction, so an interrupted restore resumes where it stopped.
 */
export class ChangelogRestorer {
  /** Changelog records applied since start; read by metrics. */
  restoredRecords = 0

  private constructor(
    private readonly consumer: ChangelogConsumer,
    private readonly log: Logger,
  ) {}

  static async connect(config: LibrdkafkaConfig, log: Logger): Promise<ChangelogRestorer> {
    return new ChangelogRestorer(await ChangelogConsumer.connect(config, 'restore'), log)
  }

  async restore(stores: readonly StorePartition[], directory: StateDirectory): Promise<RestoreOutcome[]> {
    const pending = new Map<string, Pending>()
    const outcomes: RestoreOutcome[] = []
    for (const store of stores) {
      const { lowOffset, highOffset } = await this.consumer.watermarks(store.changelogTopic, store.partition)
      let from = directory.checkpoint(store) ?? 0
      if (from < lowOffset || from > highOffset) {
        this.log.warn(
          { store: store.storeName, partition: store.partition, checkpoint: from, lowOffset, highOffset },
          'checkpoint outside the changelog; restoring from its start',
        )
        directory.wipe(store)
        from = lowOffset
      }
      if (from >= highOffset)
        outcomes.push({ store: store.storeName, partition: store.partition, from, to: from, records: 0 })
      else
        pending.set(partitionKey(store.changelogTopic, store.partition), { store, from, end: highOffset, records: 0 })
    }
    if (pending.size > 0) await this.replay(pending, directory)
    for (const { store, from, end, records } of pending.values())
      outcomes.push({
        store: store.storeName,
        partition: store.partition,
        from,
        to: Math.max(end, directory.checkpoint(store) ?? end),
        records,
      })
    return outcomes
  }

  close(): Promise<void> {
    return this.consumer.close()
  }

  /**
   * Reads until librdkafka reports the end of each partition: under exactly-once the last
   * offsets are transaction markers, which are never delivered, so the last record's offset
   * cannot tell when a partition is done.
   */
  private async replay(pending: Map<string, Pending>, directory: StateDirectory): Promise<void> {
    const remaining = new Set(pending.keys())
    const total = [...pending.values()].reduce((sum, p) => sum + (p.end - p.from), 0)
    const ends: Array<{ topic: string; partition: number; offset: number }> = []
    const stopListening = this.consumer.onEndOfPartition((eof) => void ends.push(eof))
    this.consumer.assign(
      [...pending.values()].map(({ store, from }) => ({
        topic: store.changelogTopic,
        partition: store.partition,
        offset: from,
      })),
    )
    let lastReport = Date.now()
    let replayed = 0
    try {
      while (remaining.size > 0) {
        const runs = runsByPartition(await this.consumer.consume(BATCH, 200))
        if (runs.size > 0) directory.restore([...runs].map(([key, run]) => this.counted(pending.get(key)!, run)))
        replayed += [...runs.values()].reduce((sum, run) => sum + run.length, 0)
        // Ends are applied after the records that came before them.
        for (const eof of ends.splice(0)) {
          const entry = pending.get(partitionKey(eof.topic, eof.partition))
          if (!entry || !remaining.delete(partitionKey(eof.topic, eof.partition))) continue
          if ((directory.checkpoint(entry.store) ?? -1) < eof.offset)
            directory.restore([{ store: entry.store, records: [], nextOffset: eof.offset }])
        }
        if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = Date.now()
          this.log.info(
            { replayed, of: total, percent: Math.min(100, Math.round((replayed / Math.max(1, total)) * 100)) },
            'restoring state from changelogs',
          )
        }
      }
      // One flush to disk for the whole restore: its transactions did not wait for one.
      await directory.flush()
    } finally {
      stopListening()
      this.consumer.unassign()
    }
  }

  private counted(entry: Pending, run: ChangelogRecord[]) {
    entry.records += run.length
    this.restoredRecords += run.length
    return { store: entry.store, records: run, nextOffset: run[run.length - 1].offset + 1 }
  }
}
