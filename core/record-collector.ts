import type { GroupMembership, TopicPartitionOffset } from './record-consumer.js'

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
 * by `flush`, which the commit calls before it commits the offsets of what was sent; under
 * exactly-once, the offsets join the transaction and `commitTransaction` commits them with it.
 */
export interface RecordCollector {
  /** Queues a record; `topicSpec` says how to create its topic if it does not exist yet. */
  send(record: OutgoingRecord, topicSpec?: TopicSpec): void
  /** Resolves once every record held back has been handed to the producer. Rejects on a fatal delivery error. */
  drain(): Promise<void>
  /** Resolves once every record sent so far is acknowledged by the broker; rejects if any delivery failed. */
  flush(timeoutMs: number): Promise<void>
  /**
   * Exactly-once: adds the input offsets to the open transaction with the consumer's group
   * membership, so a member the group has moved on from cannot commit them.
   */
  sendOffsetsToTransaction(offsets: TopicPartitionOffset[], group: GroupMembership, timeoutMs: number): Promise<void>
  /** Exactly-once: commits the open transaction (outputs, changelogs, offsets) and begins the next. */
  commitTransaction(timeoutMs: number): Promise<void>
  /**
   * Gives up what was sent since the last commit, which is processed again: under exactly-once
   * the transaction is aborted (outputs and changelogs dropped) and the next begun; records
   * held back are dropped, and a failed delivery of a record in flight is forgotten.
   */
  abort(timeoutMs: number): Promise<void>
  /** The partition's end offset (high watermark), asked of the broker: a changelog's checkpoint. */
  endOffset(topic: string, partition: number): Promise<number>
  /** Creates a topic now, ahead of any record for it (internal topics, sinks with a fixed name). */
  ensureTopic(topic: string, spec: TopicSpec): Promise<void>
  close(): Promise<void>
  /** Records handed to the producer per topic since start; read by metrics. */
  readonly producedByTopic: ReadonlyMap<string, number>
}
