import type { OutgoingRecord, RecordCollector, TopicSpec } from '../../core/record-collector.js'
import type { GroupMembership, TopicPartitionOffset } from '../../core/record-consumer.js'

/** The collector's operations a test can make fail, once each. */
export type CollectorStep = 'flush' | 'sendOffsetsToTransaction' | 'commitTransaction' | 'abort' | 'endOffset'

/**
 * Our RecordCollector interface kept in memory, for operator, pipeline and runtime unit tests
 * (the Kafka client itself is only ever exercised for real, in test/integration). Every call
 * the runtime makes is written to `calls`, which a test may share with a MemoryConsumer to see
 * the commit order; `failNext` makes the next call of a step reject.
 */
export class MemoryCollector implements RecordCollector {
  readonly sent: Array<{ record: OutgoingRecord; topicSpec?: TopicSpec }> = []
  readonly producedByTopic = new Map<string, number>()
  /** Offsets of each committed transaction, in order. */
  readonly transactions: TopicPartitionOffset[][] = []
  private readonly inTransaction: TopicPartitionOffset[] = []
  readonly failNext = new Map<CollectorStep, Error>()
  /** Records sent per `topic-partition`: a changelog partition's end offset. */
  private readonly ends = new Map<string, number>()

  constructor(readonly calls: string[] = []) {}

  send(record: OutgoingRecord, topicSpec?: TopicSpec): void {
    this.calls.push(`send ${record.topic}`)
    this.sent.push({ record, topicSpec })
    this.producedByTopic.set(record.topic, (this.producedByTopic.get(record.topic) ?? 0) + 1)
    if (record.partition !== undefined) {
      const at = `${record.topic}-${record.partition}`
      this.ends.set(at, (this.ends.get(at) ?? 0) + 1)
    }
  }

  async drain(): Promise<void> {}

  async flush(): Promise<void> {
    this.step('flush')
  }

  async sendOffsetsToTransaction(offsets: TopicPartitionOffset[], group: GroupMembership): Promise<void> {
    this.step(`sendOffsetsToTransaction ${describeOffsets(offsets)}`, 'sendOffsetsToTransaction')
    if (typeof group !== 'object') throw new TypeError('no group membership')
    this.inTransaction.push(...offsets)
  }

  async commitTransaction(): Promise<void> {
    this.step('commitTransaction')
    this.transactions.push(this.inTransaction.splice(0))
  }

  /** Drops the open transaction's offsets; its records stay in `sent` (a reader under read_committed skips them). */
  async abort(): Promise<void> {
    this.step('abort')
    this.inTransaction.splice(0)
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    this.step(`endOffset ${topic}-${partition}`, 'endOffset')
    return this.ends.get(`${topic}-${partition}`) ?? 0
  }

  async ensureTopic(): Promise<void> {}
  async close(): Promise<void> {}

  /** Records sent to one topic so far. */
  sentTo(topic: string): OutgoingRecord[] {
    return this.sent.filter(({ record }) => record.topic === topic).map(({ record }) => record)
  }

  private step(call: string, step = call as CollectorStep): void {
    this.calls.push(call)
    const failure = this.failNext.get(step)
    if (failure) {
      this.failNext.delete(step)
      throw failure
    }
  }
}

/** `in-0@5,in-1@2`: offsets as the call log writes them. */
export function describeOffsets(offsets: TopicPartitionOffset[]): string {
  return offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`).join(',')
}
