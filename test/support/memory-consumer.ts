import type {
  ConsumedMessage,
  FetchPosition,
  RecordConsumer,
  TopicPartitionOffset,
} from '../../core/record-consumer.js'
import { describeOffsets } from './memory-collector.js'

/**
 * Our RecordConsumer interface fed by the test, for runtime unit tests: `push` queues a batch
 * that the next `nextBatch` hands over (an empty batch after a short wait otherwise, as a poll
 * timeout would). Commits are written to the call log it shares with a MemoryCollector;
 * `failNextCommit` makes the next synchronous commit throw, as a group that moved on does.
 */
export class MemoryConsumer implements RecordConsumer {
  readonly group = { memberId: 'memory-consumer' }
  readonly committed = new Map<string, number>()
  failNextCommit: Error | undefined
  private readonly batches: ConsumedMessage[][] = []
  private commitErrorHandler: ((error: Error) => void) | undefined

  constructor(readonly calls: string[] = []) {}

  push(...messages: ConsumedMessage[]): void {
    this.batches.push(messages)
  }

  subscribe(): void {}

  /** Written to the call log; the test assigns partitions again as the group would. */
  async rejoin(): Promise<void> {
    this.calls.push('rejoin')
  }

  async nextBatch(): Promise<ConsumedMessage[]> {
    const batch = this.batches.shift()
    if (batch) return batch
    await new Promise((resolve) => setTimeout(resolve, 2))
    return []
  }

  /** No more to fetch than what was pushed. */
  fetchPosition(): FetchPosition {
    return this.batches.length === 0 ? 'caught-up' : 'behind'
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number | undefined>> {
    return new Map(topics.map((topic) => [topic, 1]))
  }

  commit(offsets: TopicPartitionOffset[]): void {
    if (offsets.length === 0) return
    this.calls.push(`commit ${describeOffsets(offsets)}`)
    this.remember(offsets)
  }

  commitSync(offsets: TopicPartitionOffset[]): void {
    if (offsets.length === 0) return
    this.calls.push(`commitSync ${describeOffsets(offsets)}`)
    const failure = this.failNextCommit
    this.failNextCommit = undefined
    if (failure) throw failure
    this.remember(offsets)
  }

  onCommitError(handler: (error: Error) => void): void {
    this.commitErrorHandler = handler
  }

  /** A background commit failed, as librdkafka's offset_commit_cb reports it. */
  reportCommitError(error: Error): void {
    this.commitErrorHandler?.(error)
  }

  async close(): Promise<void> {}

  private remember(offsets: TopicPartitionOffset[]): void {
    for (const { topic, partition, offset } of offsets) this.committed.set(`${topic}-${partition}`, offset)
  }
}
