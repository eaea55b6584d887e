/** A record ready for the producer; `headers` in node-rdkafka's shape, one object per header. */
export interface OutgoingRecord {
  topic: string
  /** Set for changelog records (a task writes its own partition); otherwise the key's hash picks. */
  partition?: number
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
 * back-pressure (topics being created, a full producer queue) is felt. Delivery is confirmed
 * by `flush`, which the commit loop calls before it commits the offsets of what was sent.
 */
export interface RecordCollector {
  /** Queues a record; `topicSpec` says how to create its topic if it does not exist yet. */
  send(record: OutgoingRecord, topicSpec?: TopicSpec): void
  /** Resolves once every record held back has been handed to the producer. Rejects on a fatal delivery error. */
  drain(): Promise<void>
  /** Resolves once every record sent so far is acknowledged by the broker; rejects if any delivery failed. */
  flush(timeoutMs: number): Promise<void>
  close(): Promise<void>
  /** Records handed to the producer per topic since start; read by metrics. */
  readonly producedByTopic: ReadonlyMap<string, number>
}
