import type { OutgoingRecord, RecordCollector, TopicSpec } from '../../connectors/kafka/record-collector.js'
import type { DeliveryAck } from '../../operators/record.js'

/**
 * Our RecordCollector interface kept in memory, for operator and pipeline unit tests (the
 * Kafka client itself is only ever exercised for real, in test/integration).
 * `deliverAll` plays the broker's acknowledgements.
 */
export class MemoryCollector implements RecordCollector {
  readonly sent: Array<{ record: OutgoingRecord; topicSpec?: TopicSpec }> = []
  readonly producedByTopic = new Map<string, number>()
  private readonly acks: DeliveryAck[] = []

  send(record: OutgoingRecord, ack: DeliveryAck, topicSpec?: TopicSpec): void {
    ack.pending++
    this.acks.push(ack)
    this.sent.push({ record, topicSpec })
    this.producedByTopic.set(record.topic, (this.producedByTopic.get(record.topic) ?? 0) + 1)
  }

  deliverAll(): void {
    for (const ack of this.acks.splice(0)) ack.pending--
  }

  async drain(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
