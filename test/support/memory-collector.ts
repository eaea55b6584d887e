import type { OutgoingRecord, RecordCollector, TopicSpec } from '../../core/record-collector.js'

/**
 * Our RecordCollector interface kept in memory, for operator and pipeline unit tests (the
 * Kafka client itself is only ever exercised for real, in test/integration).
 */
export class MemoryCollector implements RecordCollector {
  readonly sent: Array<{ record: OutgoingRecord; topicSpec?: TopicSpec }> = []
  readonly producedByTopic = new Map<string, number>()

  send(record: OutgoingRecord, topicSpec?: TopicSpec): void {
    this.sent.push({ record, topicSpec })
    this.producedByTopic.set(record.topic, (this.producedByTopic.get(record.topic) ?? 0) + 1)
  }

  async drain(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
