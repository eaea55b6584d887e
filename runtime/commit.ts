import type { RecordCollector } from '../core/record-collector.js'
import type { RecordConsumer, TopicPartitionOffset } from '../core/record-consumer.js'
import type { StateDirectory } from '../state/state-directory.js'
import type { SourceIngest } from './source-ingest.js'
import type { StreamTask } from './stream-task.js'

/** Longer than librdkafka's default message.timeout.ms (300 s), after which an undelivered record fails on its own. */
const FLUSH_TIMEOUT_MS = 330_000

/** What one commit touches: the clients, and where state is applied once Kafka has everything. */
export interface CommitScope {
  readonly collector: RecordCollector
  readonly consumer: RecordConsumer
  readonly exactlyOnce: boolean
  /** The replica's state dir; undefined when nothing here keeps state. */
  readonly directory: StateDirectory | undefined
  readonly ingest: SourceIngest | undefined
  readonly hooks?: CommitHooks
}

/**
 * Why the thread commits: its interval is up (offsets committed in the background under
 * at-least-once), tasks are about to restore, partitions are let go, or the process stops
 * (each of the last three waits for the offsets).
 */
export type CommitReason = 'interval' | 'restore' | 'hand-over' | 'shutdown'

/**
 * Points inside the commit where a fault-injection test can wait (and so make a rebalance or a
 * broker restart happen exactly there). Production leaves them unset.
 */
export interface CommitHooks {
  /** After the flush, before the offsets are committed: awaited with the offsets about to be. */
  afterFlush?(offsets: readonly TopicPartitionOffset[], reason: CommitReason): Promise<void>
}

/**
 * The one commit point, in the one commit order (Kafka Streams' TaskManager#commit, Quix
 * Streams' checkpoint). Processing puts outputs in the producer and store writes in each task's
 * write buffer; every commitIntervalMs, before partitions are let go, and when the process stops:
 *   1. send each store's buffered changes to its changelog (tasks', then sources');
 *   2. flush the producer (every output and changelog record acknowledged, or a delivery error
 *      stops the replica);
 *   3. commit the input offsets — at-least-once: the consumer commits them; exactly-once: they
 *      join the transaction (with the consumer's group membership), which then commits
 *      outputs, changelogs and offsets atomically;
 *   4. apply the buffered changes to LMDB with each store's new checkpoint (the changelog's
 *      end offset) in one LMDB transaction; then the sources' state.
 * Between steps nothing is processed. LMDB is never ahead of Kafka: a failure before step 4
 * leaves the checkpoint behind, and the restore replays the changelog's tail.
 */
export async function commit(
  scope: CommitScope,
  tasks: StreamTask[],
  reason: CommitReason,
  flushTimeoutMs = FLUSH_TIMEOUT_MS,
): Promise<void> {
  const { collector, consumer, directory, ingest } = scope
  const now = Date.now()
  for (const task of tasks) task.stores?.sendChangelog(collector, now)
  ingest?.sendChangelog(collector, now)
  const offsets = tasks.flatMap((task) => task.committableOffsets())
  await collector.flush(flushTimeoutMs)
  await scope.hooks?.afterFlush?.(offsets, reason)
  if (scope.exactlyOnce) {
    if (offsets.length > 0) await collector.sendOffsetsToTransaction(offsets, consumer.group, flushTimeoutMs)
    await collector.commitTransaction(flushTimeoutMs)
  } else if (reason === 'interval') consumer.commit(offsets)
  else consumer.commitSync(offsets)
  if (!directory) return
  await applyStores(tasks, directory, collector)
  await ingest?.checkpoint(directory, (topic, partition) => collector.endOffset(topic, partition))
}

/**
 * Step 4 for tasks: the interval's store changes and each changed store's new checkpoint, the
 * end offset of its changelog partition, which only its task writes.
 */
async function applyStores(tasks: StreamTask[], directory: StateDirectory, collector: RecordCollector): Promise<void> {
  const changed = tasks.flatMap((task) => task.stores?.changed() ?? [])
  if (changed.length === 0) return
  const ends = await Promise.all(changed.map((store) => collector.endOffset(store.changelogTopic, store.partition)))
  directory.commit(changed.map((store, i) => [store, ends[i]] as const))
}
