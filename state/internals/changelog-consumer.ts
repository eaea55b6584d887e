import Kafka from 'node-rdkafka'
import type { LibrdkafkaConfig } from '../../connectors/kafka/client-config.js'
import { consumeBatch } from '../../connectors/kafka/consume-batch.js'
import { fetchedEnd } from '../../connectors/kafka/fetched-end.js'
import { queryWatermarks } from '../../connectors/kafka/query-watermarks.js'
import { StateError } from '../state-error.js'

const { CODES } = Kafka

/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
export const OFFSET_BEGINNING = -2

/** A change as read from a changelog (or a table's topic): a null value deletes the key. */
export interface ChangelogRecord {
  readonly key: Buffer
  readonly value: Buffer | null
  readonly offset: number
}

/**
 * The consumer behind restore, standby copies and global tables (Kafka Streams' restore
 * consumer): it never joins the group, is assigned partitions explicitly, and reports the end
 * of each partition it reaches (partition EOF).
 */
export class ChangelogConsumer {
  private constructor(private readonly consumer: Kafka.KafkaConsumer) {}

  static async connect(config: LibrdkafkaConfig, purpose: string): Promise<ChangelogConsumer> {
    const consumer = new Kafka.KafkaConsumer(
      { ...config, 'enable.auto.commit': false, 'enable.partition.eof': true },
      {},
    )
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 30_000 }, (error) =>
        error
          ? reject(new StateError('RESTORE', `${purpose} consumer cannot connect: ${error.message}`, { cause: error }))
          : resolve(),
      ),
    )
    return new ChangelogConsumer(consumer)
  }

  assign(assignments: Kafka.Assignment[]): void {
    this.consumer.assign(assignments)
  }

  unassign(): void {
    this.consumer.unassign()
  }

  /**
   * Told of each partition end the consumer reaches. node-rdkafka emits them before it hands over the batch they
   * follow.
   */
  onEndOfPartition(listener: (eof: { topic: string; partition: number; offset: number }) => void): () => void {
    this.consumer.on('partition.eof', listener)
    return () => this.consumer.removeListener('partition.eof', listener)
  }

  /** Up to `max` records, waiting at most `timeoutMs` for the first; an empty batch when none came. */
  consume(max: number, timeoutMs: number): Promise<Kafka.Message[]> {
    return new Promise((resolve, reject) => {
      consumeBatch(this.consumer, max, timeoutMs, (error, messages) => {
        if (!error) return resolve(messages)
        if (error.code === CODES.ERRORS.ERR__TIMED_OUT || error.code === CODES.ERRORS.ERR__PARTITION_EOF)
          return resolve([])
        reject(
          new StateError('RESTORE', `reading ${messages?.[0]?.topic ?? 'a changelog'} failed: ${error.message}`, {
            cause: error,
          }),
        )
      })
    })
  }

  /** The partition's low and high watermarks, asked of the broker (again while it cannot answer). */
  async watermarks(topic: string, partition: number): Promise<Kafka.WatermarkOffsets> {
    try {
      return await queryWatermarks(this.consumer, topic, partition)
    } catch (error) {
      const message = `cannot read the end of ${topic}-${partition}: ${(error as Error).message}`
      throw new StateError('RESTORE', message, { cause: error })
    }
  }

  /** The partition's high watermark as the last fetch saw it (no request); undefined before any fetch. */
  fetchedEnd(topic: string, partition: number): number | undefined {
    return fetchedEnd(this.consumer, topic, partition)
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.consumer.disconnect(() => resolve()))
  }
}

/** A batch split by topic-partition (key `topic\0partition`), each run in offset order. */
export function messagesByPartition(messages: readonly Kafka.Message[]): Map<string, Kafka.Message[]> {
  const runs = new Map<string, Kafka.Message[]>()
  for (const message of messages) {
    const key = partitionKey(message.topic, message.partition)
    let run = runs.get(key)
    if (!run) runs.set(key, (run = []))
    run.push(message)
  }
  return runs
}

/** The same, each message as a changelog record. */
export function runsByPartition(messages: readonly Kafka.Message[]): Map<string, ChangelogRecord[]> {
  const runs = new Map<string, ChangelogRecord[]>()
  for (const [key, run] of messagesByPartition(messages)) {
    runs.set(
      key,
      run.map((m) => ({
        key: Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key ?? '')),
        value: m.value ?? null,
        offset: m.offset,
      })),
    )
  }
  return runs
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
