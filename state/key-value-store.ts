/**
 * A task's local state store (Kafka Streams' KeyValueStore). Implementations come as layers:
 * a raw LMDB bytes store, a change-logging layer that also writes every put to the store's
 * compacted changelog topic, and an outer typed layer that alone knows the serdes.
 *
 * Reads are synchronous (LMDB reads are); writes land in the task's write buffer, which reads
 * see first, and reach disk in the commit loop, after the producer flush and the offset
 * commit, together with the checkpoint, so the store is never ahead of Kafka.
 */
export interface KeyValueStore<K, V> {
  /** The name written in the topology; names the changelog `<application id>-<name>-changelog`. */
  readonly name: string
  get(key: K): V | undefined
  put(key: K, value: V): void
  delete(key: K): void
  /** Entries with keys in [from, to), in key order. */
  range(from: K, to: K): Iterable<[K, V]>
  /** Applies buffered writes and the changelog checkpoint in one transaction. */
  commit(changelogOffset: number): Promise<void>
  close(): Promise<void>
}

/** Where a store is in its life (Kafka Streams' changelog states). */
export enum StoreState {
  /** Opened; its changelog partition is known. */
  REGISTERED = 'REGISTERED',
  /** Replaying the changelog from the checkpoint to the end offset; the task does not process yet. */
  RESTORING = 'RESTORING',
  /** Caught up; the task may process. */
  COMPLETED = 'COMPLETED',
}
