import type { Logger } from '../core/logger.js'
import type { RecordCollector } from '../core/record-collector.js'
import type { DeadLetter } from '../core/record-error.js'
import type { StateDirectory } from '../state/state-directory.js'
import type { StorePartition } from '../state/store-partition.js'

/**
 * A source outside Kafka (Quix Streams' Source): it reads in the background and lands what it
 * read in its own topic through the replica's producer, inside the commit cycle, so the
 * topology's steps read that topic like any other. Its own state (what it has landed, its
 * counters) is a store that reaches LMDB only after Kafka has the records computed from it.
 *
 * Lifecycle, driven by the runtime's SourceIngest:
 *   start()         reading begins; what is read waits in memory
 *   land()          between two batches: what was read becomes records (and dead letters)
 *   sendChangelog() the commit's first step: the store's changes to its changelog, if it keeps one
 *   checkpoint()    the commit's last step: the store to LMDB, now that Kafka has what was landed
 *   rewind()        the commit was aborted (exactly-once): the store's changes are dropped, and
 *                   what was landed since the last checkpoint lands again at the next land()
 *   stop()          reading stops; what was read and not landed is read again by the next run
 *   close()         after the last commit: gives up what it holds (a lease)
 */
export interface Source {
  readonly name: string
  start(): void
  /** Something was read that `land` would land. */
  readonly hasPending: boolean
  /** Lands what was read since the last call; returns how many records it sent. */
  land(collector: RecordCollector, deadLetter: DeadLetter): number
  sendChangelog(collector: RecordCollector, timestamp: number): void
  checkpoint(directory: StateDirectory, endOffset: EndOffset): Promise<void>
  rewind(): void
  stop(): Promise<void>
  close(): Promise<void>
  /** Read failures by code, for kubestream_source_errors_total. */
  readonly errors: ReadonlyMap<string, number>
  /** Documents (tracer answers, watch changes) read, for kubestream_source_documents_total. */
  readonly documents: number
  /** Whether this replica leads the source; undefined where every replica that ingests reads it. */
  readonly isLeader: boolean | undefined
}

/** A changelog partition's end offset, asked of the broker: a store's checkpoint. */
export type EndOffset = (topic: string, partition: number) => Promise<number>

/** What a source is opened with, beyond its own settings in the graph. */
export interface SourceContext {
  readonly directory: StateDirectory
  /** This replica's stable name (the pod's), else host and pid: a lease's holder. */
  readonly replicaName: string
  /** Replays a store from its changelog up to the end, before the source reads. */
  readonly restore: (store: StorePartition) => Promise<void>
  /** Milliseconds each source spends landing, by name (kubestream_step_process_seconds_total). */
  readonly processMs: Map<string, number>
  readonly log: Logger
}
