export interface TopicPartition {
  topic: string
  partition: number
}

/** A position to commit: the offset of the next record to read. */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number
}

/** A record as the consumer hands it over, before decoding (node-rdkafka's Message has this shape). */
export interface ConsumedMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key?: Buffer | string | null
  readonly value: Buffer | null
  readonly timestamp?: number
  readonly headers?: ReadonlyArray<Record<string, string | Buffer>>
}

/**
 * Told of assignment changes while the rebalance is in progress. The partitions are only let
 * go once `onRevoked` settles, so it can flush and commit first; the group waits for it.
 */
export interface RebalanceListener {
  onAssigned(partitions: TopicPartition[]): void
  onRevoked(partitions: TopicPartition[]): Promise<void>
  /** The client could not apply a rebalance's change: the thread revives its tasks. */
  onFailure(error: Error): void
}

/**
 * Where an input partition stands for the task that reads it: everything the broker had is
 * handed over, more is to be fetched, or not known yet — the consumer has not fetched the
 * partition, so its end is unknown.
 */
export type FetchPosition = 'caught-up' | 'behind' | 'unknown'

/**
 * The group consumer the stream thread reads from (Kafka Streams' main consumer). Offsets are
 * committed only when the commit says so.
 */
export interface RecordConsumer {
  /** Handed to the collector with the offsets under exactly-once. */
  readonly group: GroupMembership
  subscribe(topics: string[]): void
  /**
   * After a migration: joins the group afresh, the partitions it is given coming through
   * onAssigned and read from their committed offsets; see BatchConsumer.
   */
  rejoin(): Promise<void>
  /** Whatever has been fetched, up to `maxMessages`; waits a short poll for the first one. */
  nextBatch(maxMessages: number): Promise<ConsumedMessage[]>
  /** Whether everything the broker had for the partition has been handed over; see BatchConsumer. */
  fetchPosition(topic: string, partition: number, nextExpected: number | undefined): FetchPosition
  /** Partition counts of topics; a topic that does not exist maps to undefined. */
  partitionCounts(topics: string[]): Promise<Map<string, number | undefined>>
  /** Commits in the background; a failure reaches `onCommitError`. */
  commit(offsets: TopicPartitionOffset[]): void
  /** Commits and waits: on revoke and on shutdown. */
  commitSync(offsets: TopicPartitionOffset[]): void
  onCommitError(handler: (error: Error) => void): void
  close(): Promise<void>
}

/**
 * A consumer's membership of its group as its client library holds it (node-rdkafka: the
 * consumer itself). Opaque here: only a collector of the same library can read it.
 */
export type GroupMembership = object
