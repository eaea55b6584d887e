import { setImmediate as nextTurn } from 'node:timers/promises'
import { taskMigrated } from '../core/kubestream-error.js'
import type { Logger } from '../core/logger.js'
import type { RecordCollector } from '../core/record-collector.js'
import type { ConsumedMessage, RecordConsumer, TopicPartition } from '../core/record-consumer.js'
import type { DeadLetter } from '../core/record-error.js'
import type { StateDirectory } from '../state/state-directory.js'
import type { TopologyGraph } from '../topology/graph.js'
import { commit, type CommitHooks, type CommitReason, type CommitScope } from './commit.js'
import type { SourceIngest } from './source-ingest.js'
import { type StreamTask, TaskState } from './stream-task.js'
import type { TaskManager } from './task-manager.js'
import type { ThreadMeters } from './thread-meters.js'

/** How long an abort may take: librdkafka waits for the coordinator to write the abort markers. */
const ABORT_TIMEOUT_MS = 30_000
/** Migrations met while recovering from one, before the thread gives up. */
const MAX_RECOVERIES = 5

/** The replica's local state as the thread uses it (ReplicaState in production). */
export interface LocalState {
  readonly directory: StateDirectory
  /** Applies global table and standby updates that arrived since the last call. */
  poll(): Promise<void>
  /** Replays the changelogs of tasks just assigned, up to their ends. */
  restore(tasks: StreamTask[]): Promise<void>
}

export interface StreamThreadOptions {
  readonly consumer: RecordConsumer
  readonly collector: RecordCollector
  readonly tasks: TaskManager
  readonly processing: Pick<
    TopologyGraph['processing'],
    'maxBatchSize' | 'commitIntervalMs' | 'maxTaskIdleMs' | 'maxBufferedChanges'
  >
  readonly exactlyOnce: boolean
  readonly state: LocalState | undefined
  readonly ingest: SourceIngest | undefined
  readonly deadLetter: DeadLetter
  readonly log: Logger
  /** Where it counts the records it consumed, per topic. */
  readonly consumedByTopic: Map<string, number>
  /** Kafka Streams' stream-thread metrics: polls, records processed, commits. */
  readonly meters?: ThreadMeters
  readonly commitHooks?: CommitHooks
}

/** Partitions the group takes away, handed over by the run loop between two batches. */
interface Revocation {
  readonly partitions: TopicPartition[]
  readonly handedOver: () => void
}

/**
 * The run loop (Kafka Streams' StreamThread): consume a batch, restore tasks just assigned,
 * process, land what the sources read, and commit every commitIntervalMs, when the tasks hold
 * maxBufferedChanges store changes, or when the group takes partitions away. The consumer's
 * rebalance callbacks arrive at `assign` and `revoke`. One fault stops it.
 */
export class StreamThread {
  /** Between `run` and its end: revocations wait for the loop (or for `shutdown`). */
  private looping = false
  private stopping = false
  private readonly revocations: Revocation[] = []
  private failure: unknown
  /** A migration reported outside the loop, recovered from at its next turn. */
  private migration: unknown
  private assignedOnce = false
  private readonly scope: CommitScope
  /**
   * When the last commit started (or the loop did): the interval runs from there, as Kafka
   * Streams' does, so a commit's own duration does not stretch the time outputs of an
   * exactly-once hop wait.
   */
  private lastCommitStart = 0

  constructor(private readonly options: StreamThreadOptions) {
    const { collector, consumer, exactlyOnce, state, ingest, commitHooks: hooks } = options
    this.scope = { collector, consumer, exactlyOnce, directory: state?.directory, ingest, hooks }
    consumer.onCommitError((error) => this.commitFailed(error))
  }

  /** In the group: its first assignment came, even an empty one. */
  get assigned(): boolean {
    return this.assignedOnce
  }

  /** Set when a fault stopped the thread (or a task reported one). */
  get failed(): unknown {
    return this.failure
  }

  /**
   * A fault outside the loop (a task's producer failure, a rebalance the consumer could not
   * apply): the loop throws it at its next turn, and recovers from it if it means the task
   * migrated.
   */
  fail(error: unknown): void {
    if (taskMigrated(error)) this.migration ??= error
    else this.failure ??= error
  }

  /** Nothing to be assigned (the replica only ingests): ready as soon as it runs. */
  markAssigned(): void {
    this.assignedOnce = true
  }

  /** Runs until `requestStop` or a fault, which it rethrows. */
  async run(): Promise<void> {
    this.looping = true
    this.lastCommitStart = Date.now()
    // One consume is always in flight, so librdkafka's worker thread copies the next batch
    // while this thread processes the current one. A batch fetched but never processed is
    // simply not committed: it is read again after a restart or by the partition's next owner.
    let next = this.fetch()
    try {
      while (!this.stopping) {
        const messages = await next
        this.options.meters?.polled(messages.length)
        next = this.fetch()
        try {
          await this.turn(messages)
        } catch (error) {
          if (!taskMigrated(error)) throw error
          await this.recover(error)
          // Fetched for the tasks just closed: their next life reads from the committed offsets.
          await next.catch(() => undefined)
          next = this.fetch()
          this.lastCommitStart = Date.now()
        }
      }
      await next.catch(() => undefined)
    } catch (error) {
      this.failure = error
      this.options.log.error(
        { err: error },
        'processing stopped by a fault; positions whose outputs were not flushed are not committed',
      )
      this.releaseRevoked()
      throw error
    } finally {
      this.looping = false
    }
  }

  /** The next batch, in flight while the loop works; a failure is thrown where the loop awaits it. */
  private fetch(): Promise<ConsumedMessage[]> {
    const next = this.options.consumer.nextBatch(this.options.processing.maxBatchSize)
    next.catch(() => undefined)
    return next
  }

  /**
   * One turn of the loop: restore tasks just assigned, process the batch, land what the
   * sources read, then hand over revoked partitions or commit when the interval is up.
   */
  private async turn(messages: ConsumedMessage[]): Promise<void> {
    const { collector, tasks, processing, state, ingest, deadLetter } = this.options
    await state?.poll()
    // Tasks assigned during that poll restore before any of their records is processed.
    const restoring = tasks.inState(TaskState.RESTORING)
    if (restoring.length > 0) {
      await this.commit('restore')
      await state!.restore(restoring)
      for (const task of restoring) if (task.state === TaskState.RESTORING) task.state = TaskState.RUNNING
    }
    this.dispatch(messages)
    ingest?.land(collector, deadLetter)
    this.throwReported()
    await collector.drain()
    if (this.revocations.length > 0) {
      await this.handOver()
    } else if (
      Date.now() - this.lastCommitStart >= processing.commitIntervalMs ||
      this.bufferedChanges() >= processing.maxBufferedChanges
    ) {
      await this.commit('interval')
    }
  }

  /** Store changes the tasks hold for the next commit. */
  private bufferedChanges(): number {
    let changes = 0
    for (const task of this.options.tasks.all()) changes += task.stores?.pendingChanges ?? 0
    return changes
  }

  /**
   * The group or the transaction moved on from this member's tasks (Kafka Streams'
   * TaskMigratedException): a commit the group refused, an abortable transaction, a rebalance
   * the consumer could not apply, a delivery that timed out. What was sent since the last
   * commit is given up (under exactly-once the transaction is aborted) and the sources land
   * again what they had landed in it; every task is closed without committing (its store writes
   * since the last commit dropped, LMDB left at its checkpoint); and the consumer rejoins the
   * group, the partitions it is given getting new tasks, which restore from checkpoint and
   * changelog and read from the committed offsets (Kafka Streams' handleTaskMigrated). The
   * process goes on.
   */
  private async recover(migration: unknown): Promise<void> {
    const { tasks, collector, consumer, ingest, exactlyOnce, log } = this.options
    log.warn(
      { err: migration, tasks: tasks.all().map((task) => task.id) },
      `tasks migrated: ${exactlyOnce ? 'the transaction is aborted, ' : ''}every task closes and restores, ` +
        'and records since the last commit are processed again',
    )
    for (let attempt = 1; ; attempt++) {
      try {
        await collector.abort(ABORT_TIMEOUT_MS)
        ingest?.rewind()
        tasks.close(tasks.all())
        this.releaseRevoked()
        // The partitions just released are let go before the consumer leaves.
        await nextTurn()
        await consumer.rejoin()
        // Revocations the old consumer asked for meanwhile: nothing is left of them to hand over.
        this.releaseRevoked()
        log.info('rejoined the group; its assignment revives the tasks from the last commit')
        return
      } catch (error) {
        if (!taskMigrated(error) || attempt >= MAX_RECOVERIES) throw error
        log.warn({ err: error }, 'recovering from a migration failed; trying again')
      }
    }
  }

  /** Throws what a task or the consumer reported since the last turn: a fault, or a migration to recover from. */
  private throwReported(): void {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the fault a task reported, as it was
    if (this.failure !== undefined) throw this.failure
    const migration = this.migration
    this.migration = undefined
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the consumer reported, as it was
    if (migration !== undefined) throw migration
  }

  /** The loop ends after the batch in hand. */
  requestStop(): void {
    this.stopping = true
  }

  /**
   * After the loop ended: the last commit (unless a fault ended it), then every task closed.
   * A commit the group refuses (it rebalanced while this member was leaving, as when replicas
   * restart together) is not a failed shutdown: the next owner repeats the records since the
   * last commit, as Kafka Streams does when a commit on close fails so.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    try {
      if (this.failure === undefined) await this.commitOnShutdown(timeoutMs)
    } finally {
      this.releaseRevoked()
      this.options.tasks.close(this.options.tasks.all())
    }
  }

  /** The group gives partitions: their tasks are created (and restore before they process). */
  assign(partitions: TopicPartition[]): void {
    this.assignedOnce = true
    try {
      this.options.tasks.assign(partitions)
    } catch (error) {
      // A task whose stores another live process holds: this replica cannot run it.
      this.failure ??= error
    }
    this.options.log.info({ partitions: partitions.map((p) => `${p.topic}-${p.partition}`) }, 'partitions assigned')
  }

  /**
   * The group takes partitions away. While the loop runs, it hands them over between two
   * batches (flush, commit, close the tasks), or `shutdown` does when it has committed; once
   * the loop has ended, there is nothing left to commit.
   */
  revoke(partitions: TopicPartition[]): Promise<void> {
    if (!this.looping) {
      this.options.tasks.close(this.options.tasks.tasksOf(partitions))
      return Promise.resolve()
    }
    return new Promise((handedOver) => this.revocations.push({ partitions, handedOver }))
  }

  /** A background offset commit failed: every task offers its positions again. */
  private commitFailed(error: Error): void {
    this.options.log.warn({ err: error }, 'offset commit failed; the next commit retries')
    for (const task of this.options.tasks.all()) task.commitAgain()
  }

  private async commit(reason: CommitReason, flushTimeoutMs?: number): Promise<void> {
    this.lastCommitStart = Date.now()
    const started = performance.now()
    await commit(this.scope, this.options.tasks.inState(TaskState.RUNNING), reason, flushTimeoutMs)
    this.options.meters?.committed(performance.now() - started)
  }

  private async commitOnShutdown(timeoutMs: number): Promise<void> {
    try {
      await this.commit('shutdown', timeoutMs)
    } catch (error) {
      if (!taskMigrated(error)) throw error
      this.options.log.warn(
        { err: error },
        'the group refused the commit on shutdown; the next owner repeats records since the last commit',
      )
      // Left open, the transaction would hold read_committed readers back until it times out.
      if (this.options.exactlyOnce) await this.options.collector.abort(Math.min(timeoutMs, ABORT_TIMEOUT_MS))
    }
  }

  /**
   * Commits, then closes the tasks of revoked partitions and lets the group have them. If the
   * commit fails, the revocations stay for the loop's fault path: a migration (the group
   * already moved on) closes every task and lets them go, a fault stops the thread and lets
   * them go.
   */
  private async handOver(): Promise<void> {
    const revocations = this.revocations.splice(0)
    try {
      await this.commit('hand-over')
    } catch (error) {
      this.revocations.unshift(...revocations)
      throw error
    }
    for (const { partitions, handedOver } of revocations) {
      this.options.tasks.close(this.options.tasks.tasksOf(partitions))
      handedOver()
      this.options.log.info({ partitions: partitions.map((p) => `${p.topic}-${p.partition}`) }, 'partitions revoked')
    }
  }

  /** Lets the group have partitions still waiting, committed or not: their next owner repeats what was not. */
  private releaseRevoked(): void {
    for (const { partitions, handedOver } of this.revocations.splice(0)) {
      this.options.tasks.close(this.options.tasks.tasksOf(partitions))
      handedOver()
    }
  }

  private dispatch(messages: ConsumedMessage[]): void {
    const { consumer, tasks, processing } = this.options
    const counts = tasks.dispatch(
      messages,
      (topic, partition, next) => consumer.fetchPosition(topic, partition, next),
      processing.maxTaskIdleMs,
    )
    const consumed = this.options.consumedByTopic
    let processed = 0
    for (const [topic, count] of counts) {
      consumed.set(topic, (consumed.get(topic) ?? 0) + count)
      processed += count
    }
    this.options.meters?.processed(processed)
  }
}
