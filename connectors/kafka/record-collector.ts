import type { DeliveryAck } from '../../operators/record.js'

/** A record ready for the producer; `headers` in node-rdkafka's shape, one object per header. */
export interface OutgoingRecord {
  topic: string
  key: Buffer | string | null
  value: Buffer | null
  headers: Array<Record<string, string | Buffer>> | undefined
  timestamp: number
}

/** How an output topic that does not exist yet is created: never left to broker auto-creation. */
export interface TopicSpec {
  partitions?: number
  replicationFactor?: number
  config?: Record<string, string | number>
}

/**
 * Where tasks hand their output (Kafka Streams' RecordCollector). `send` never blocks and never
 * returns a promise: the consume loop awaits `drain` once per batch instead, which is where
 * back-pressure (topics being created, a full producer queue) is felt.
 */
export interface RecordCollector {
  /** Queues a record; `ack.pending` stays raised until the broker has acknowledged it. */
  send(record: OutgoingRecord, ack: DeliveryAck, topicSpec?: TopicSpec): void
  /** Resolves once every record held back has been handed to the producer. Rejects on a fatal delivery error. */
  drain(): Promise<void>
  /** Resolves once every record sent so far is delivered. */
  flush(timeoutMs: number): Promise<void>
  close(): Promise<void>
  /** Records handed to the producer per topic since start; read by metrics. */
  readonly producedByTopic: ReadonlyMap<string, number>
}
