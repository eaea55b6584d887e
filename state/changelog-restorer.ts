import Kafka from 'node-rdkafka'
import type { LibrdkafkaConfig } from '../connectors/kafka/client-config.js'
import type { Logger } from '../runtime/logger.js'
import type { StateDirectory } from './state-directory.js'
import { StateError } from './state-error.js'
import type { StorePartition } from './store-partition.js'

const { CODES } = Kafka
const PROGRESS_EVERY_MS = 2_000
/**
 * Records per consume call, and so per LMDB transaction. Larger batches restore no faster and
 * leave more native memory behind: node-rdkafka's conversion of a batch, and LMDB's dirty
 * pages (a page per changed leaf, malloc'd until commit). See bench/aggregate.
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

/**
 * Replays changelog partitions into their stores before a task processes (Kafka Streams'
 * StoreChangelogReader), with its own consumer that never joins the group. Each store starts at
 * its checkpoint, so a restart with an intact state dir replays only the tail — nothing at all
 * after a clean stop — and a deleted state dir is rebuilt from offset 0. A checkpoint the
 * changelog no longer covers (the topic was recreated or truncated) wipes the store first.
 * Each fetched batch is applied with its new checkpoint in one LMDB transaction, so an
 * interrupted restore resumes where it stopped.
 */
export class ChangelogRestorer {
  /** Changelog records applied since start; read by metrics. */
  restoredRecords = 0

  private constructor(private readonly consumer: Kafka.KafkaConsumer, private readonly log: Logger) {}

  static async connect(config: LibrdkafkaConfig, log: Logger): Promise<ChangelogRestorer> {
    const consumer = new Kafka.KafkaConsumer({ ...config, 'enable.auto.commit': false, 'enable.partition.eof': true } as Kafka.ConsumerGlobalConfig, {})
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 30_000 }, (error) => (error ? reject(new StateError('RESTORE', `restore consumer cannot connect: ${error.message}`, true, { cause: error })) : resolve())))
    consumer.setDefaultConsumeTimeout(200)
    return new ChangelogRestorer(consumer, log)
  }

  async restore(stores: readonly StorePartition[], directory: StateDirectory): Promise<RestoreOutcome[]> {
    const pending = new Map<string, { store: StorePartition; from: number; end: number; records: number }>()
    const outcomes: RestoreOutcome[] = []
    for (const store of stores) {
      const { lowOffset, highOffset } = await this.watermarks(store)
      let from = directory.checkpoint(store) ?? 0
      if (from < lowOffset || from > highOffset) {
        this.log.warn({ store: store.storeName, partition: store.partition, checkpoint: from, lowOffset, highOffset }, 'checkpoint outside the changelog; restoring from its start')
        directory.wipe(store)
        from = lowOffset
      }
      if (from >= highOffset) outcomes.push({ store: store.storeName, partition: store.partition, from, to: from, records: 0 })
      else pending.set(id(store.changelogTopic, store.partition), { store, from, end: highOffset, records: 0 })
    }
    if (pending.size > 0) await this.replay(pending, directory)
    for (const { store, from, end, records } of pending.values()) outcomes.push({ store: store.storeName, partition: store.partition, from, to: Math.max(end, directory.checkpoint(store) ?? end), records })
    return outcomes
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.consumer.disconnect(() => resolve()))
  }

  /**
   * Reads until librdkafka reports the end of each partition (partition EOF): under
   * exactly-once the last offsets are transaction markers, which are never delivered, so the
   * last record's offset cannot tell when a partition is done.
   */
  private async replay(pending: Map<string, { store: StorePartition; from: number; end: number; records: number }>, directory: StateDirectory): Promise<void> {
    const remaining = new Set(pending.keys())
    const total = [...pending.values()].reduce((sum, p) => sum + (p.end - p.from), 0)
    // node-rdkafka emits a batch's EOF events before it hands over the batch: keep them until its records are applied.
    const eofs: Array<{ topic: string; partition: number; offset: number }> = []
    const onEof = (eof: { topic: string; partition: number; offset: number }) => void eofs.push(eof)
    const finish = (eof: { topic: string; partition: number; offset: number }) => {
      const entry = pending.get(id(eof.topic, eof.partition))
      if (!entry || !remaining.has(id(eof.topic, eof.partition))) return
      if ((directory.checkpoint(entry.store) ?? -1) < eof.offset) directory.restore([{ store: entry.store, records: [], nextOffset: eof.offset }])
      remaining.delete(id(eof.topic, eof.partition))
    }
    // The batch's changes by changelog partition, in offset order: applied in one LMDB transaction.
    const unapplied = new Map<string, { key: Buffer; value: Buffer | null; offset: number }[]>()
    const apply = () => {
      if (unapplied.size === 0) return
      directory.restore([...unapplied].map(([key, changes]) => ({ store: pending.get(key)!.store, records: changes, nextOffset: changes[changes.length - 1].offset + 1 })))
      unapplied.clear()
    }
    this.consumer.on('partition.eof', onEof)
    this.consumer.assign([...pending.values()].map(({ store, from }) => ({ topic: store.changelogTopic, partition: store.partition, offset: from })))
    let lastReport = Date.now()
    let replayed = 0
    try {
      while (remaining.size > 0) {
        const messages = await this.consume()
        for (const message of messages) {
          const key = id(message.topic, message.partition)
          let changes = unapplied.get(key)
          if (!changes) unapplied.set(key, (changes = []))
          changes.push(toChange(message))
          pending.get(key)!.records++
        }
        replayed += messages.length
        this.restoredRecords += messages.length
        apply()
        for (const eof of eofs.splice(0)) finish(eof)
        if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = Date.now()
          this.log.info({ replayed, of: total, percent: Math.min(100, Math.round((replayed / Math.max(1, total)) * 100)) }, 'restoring state from changelogs')
        }
      }
    } finally {
      this.consumer.removeListener('partition.eof', onEof)
      this.consumer.unassign()
    }
  }

  private consume(): Promise<Kafka.Message[]> {
    return new Promise((resolve, reject) => {
      this.consumer.consume(BATCH, (error, messages) => {
        if (!error) return resolve(messages)
        if (error.code === CODES.ERRORS.ERR__TIMED_OUT || error.code === CODES.ERRORS.ERR__PARTITION_EOF) return resolve([])
        reject(new StateError('RESTORE', `reading a changelog failed: ${error.message}`, true, { cause: error }))
      })
    })
  }

  private watermarks(store: StorePartition): Promise<Kafka.WatermarkOffsets> {
    return new Promise((resolve, reject) =>
      this.consumer.queryWatermarkOffsets(store.changelogTopic, store.partition, 10_000, (error, offsets) =>
        error ? reject(new StateError('RESTORE', `cannot read the end of ${store.changelogTopic}-${store.partition}: ${error.message}`, true, { cause: error })) : resolve(offsets)))
  }
}

function id(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

function toChange(message: Kafka.Message): { key: Buffer; value: Buffer | null; offset: number } {
  const key = Buffer.isBuffer(message.key) ? message.key : Buffer.from(String(message.key ?? ''))
  return { key, value: message.value ?? null, offset: message.offset }
}
