import type { Subject } from 'rxjs'
import type { Serde } from '../connectors/serde/serde.js'
import type { ConsumedMessage, FetchPosition, TopicPartitionOffset } from '../core/record-consumer.js'
import { RecordError, type DeadLetter } from '../core/record-error.js'
import { NO_HEADERS, type RecordBatch, type RecordOrigin, type StreamRecord } from '../core/record.js'
import type { WindowCounters } from '../operators/windowed-aggregate.js'
import type { TaskStores } from '../state/task-stores.js'
import { type PartitionProgress } from './partition-progress.js'

/** Where a task is in its life (Kafka Streams' Task.State, the states we use). */
export enum TaskState {
  /** Created on assignment; its stores replay their changelogs before it may process. */
  RESTORING = 'RESTORING',
  /** Processing. */
  RUNNING = 'RUNNING',
  /** Let go: revoked, stopped or failed. */
  CLOSED = 'CLOSED',
}

/** One input topic of a task: partition `task.partition` of it. */
export interface TaskInput {
  readonly topic: string
  /** The source's name in the topology (dead-letter headers name it as the failing step). */
  readonly sourceName: string
  readonly serde: Serde
  /** The source's timestamp extractor; else the Kafka timestamp is the event time. */
  readonly eventTime?: (record: StreamRecord) => number
  readonly pipeline: Subject<RecordBatch>
  readonly progress: PartitionProgress
}

/**
 * A sub-topology on one partition: the unit of work and of state. It decodes batches of its
 * input partitions, pushes them through its pipeline, keeps each input's progress, and owns
 * the stores its stateful steps write.
 */
export class StreamTask {
  state: TaskState
  /** Tasks with several inputs (a stream and a table joined) take records in timestamp order; see `drain`. */
  private readonly queues: Map<string, QueuedRecord[]> | undefined
  /** Per input: the highest offset queued, so a re-fetched record is not queued twice. */
  private readonly queuedThrough = new Map<string, number>()
  /** Records handed to this task, for Kafka Streams' stream-task process-total. */
  processedRecords = 0
  /** Since when an input with nothing queued has held the others back. */
  private waitingSince: number | undefined
  /** Inputs waited on for the whole idle time: not waited on again until they bring something. */
  private readonly idled = new Set<string>()

  constructor(
    readonly id: string,
    readonly partition: number,
    readonly inputs: ReadonlyMap<string, TaskInput>,
    readonly stores: TaskStores | undefined,
    private readonly deadLetter: DeadLetter,
    /** Its windows' late records (Kafka Streams' task-level dropped-records). */
    readonly windowCounters: WindowCounters = { lateRecords: 0 },
  ) {
    this.state = stores && stores.partitions.length > 0 ? TaskState.RESTORING : TaskState.RUNNING
    if (inputs.size > 1) this.queues = new Map([...inputs.keys()].map((topic) => [topic, []]))
  }

  /**
   * Messages of one input partition, in offset order. Synchronous: every output is sent when
   * it returns. Offsets this task has already processed are skipped: after a rebalance gives a
   * partition back, a batch fetched before it can be followed by the same records re-fetched
   * from the committed offset.
   */
  process(topic: string, messages: ConsumedMessage[]): void {
    const input = this.inputs.get(topic)
    if (!input) return
    if (this.queues) return this.enqueue(input, messages)
    const batch: RecordBatch = []
    const nextOffset = input.progress.nextOffset
    for (const message of messages) {
      if (message.offset < nextOffset) continue
      const record = this.decode(input, message)
      if (record) batch.push(record)
    }
    if (batch.length > 0) input.pipeline.next(batch)
    input.progress.processedThrough(messages[messages.length - 1].offset)
  }

  /**
   * Processes queued records of a multi-input task in timestamp order across its inputs (Kafka
   * Streams' PartitionGroup), so a stream record meets the table as it was at that time. An
   * input with nothing queued holds the others back unless it is caught up (nothing more to
   * fetch) or has held them for `maxIdleMs` (Kafka Streams' max.task.idle.ms); one whose end is
   * not known yet (never fetched) holds them back however long that takes, as Kafka Streams'
   * tasks wait for every input's end offset (KIP-695) — else a slow first fetch of a table lets
   * the whole stream backlog pass an empty table. `fetchPosition` is told the next offset this
   * task expects of the input, if it has had any.
   */
  drain(
    fetchPosition: (topic: string, nextExpected: number | undefined) => FetchPosition,
    maxIdleMs: number,
    now = Date.now(),
  ): void {
    const queues = this.queues
    if (!queues || this.state !== TaskState.RUNNING) return
    for (;;) {
      let next: string | undefined
      let nextTime = Infinity
      let otherwise = Infinity
      let blocked = false
      let unknown = false
      for (const [topic, queue] of queues) {
        if (queue.length === 0) {
          const through = this.queuedThrough.get(topic)
          const position = fetchPosition(topic, through === undefined ? undefined : through + 1)
          if (position === 'unknown') unknown = true
          else if (position === 'behind' && !this.idled.has(topic)) blocked = true
          continue
        }
        const time = queue[0].timestamp
        if (time < nextTime) {
          otherwise = nextTime
          nextTime = time
          next = topic
        } else if (time < otherwise) otherwise = time
      }
      if (next === undefined || unknown) return
      if (blocked) {
        this.waitingSince ??= now
        if (now - this.waitingSince < maxIdleMs) return
        for (const [topic, queue] of queues) if (queue.length === 0) this.idled.add(topic)
      }
      this.waitingSince = undefined
      this.processRun(next, queues.get(next)!, otherwise)
    }
  }

  /** The next offset to commit per input topic, for those that moved since the last commit. */
  committableOffsets(): TopicPartitionOffset[] {
    const offsets: TopicPartitionOffset[] = []
    for (const [topic, { progress }] of this.inputs) {
      const offset = progress.takeCommittable()
      if (offset !== undefined) offsets.push({ topic, partition: this.partition, offset })
    }
    return offsets
  }

  /** A commit failed: offer every input's position again. */
  commitAgain(): void {
    for (const { progress } of this.inputs.values()) progress.commitAgain()
  }

  close(): void {
    if (this.state === TaskState.CLOSED) return
    this.state = TaskState.CLOSED
    for (const { pipeline } of this.inputs.values()) pipeline.complete()
    this.stores?.close()
  }

  private enqueue(input: TaskInput, messages: ConsumedMessage[]): void {
    const queue = this.queues!.get(input.topic)!
    let through = this.queuedThrough.get(input.topic) ?? -1
    for (const message of messages) {
      if (message.offset <= through) continue
      through = message.offset
      const record = this.decode(input, message)
      // A record that went to the dead-letter topic still holds its place, for the input's position.
      queue.push({ offset: message.offset, timestamp: record ? record.timestamp : -Infinity, record })
    }
    this.queuedThrough.set(input.topic, through)
    if (queue.length > 0) this.idled.delete(input.topic)
  }

  /** Takes the head of one input's queue up to the time of the next record elsewhere, and processes it. */
  private processRun(topic: string, queue: QueuedRecord[], until: number): void {
    let end = 0
    while (end < queue.length && queue[end].timestamp <= until) end++
    const run = queue.splice(0, Math.max(end, 1))
    const input = this.inputs.get(topic)!
    const batch = run.flatMap((entry) => entry.record ?? [])
    if (batch.length > 0) input.pipeline.next(batch)
    input.progress.processedThrough(run[run.length - 1].offset)
  }

  private decode(input: TaskInput, message: ConsumedMessage): StreamRecord | undefined {
    const origin: RecordOrigin = {
      topic: input.topic,
      partition: this.partition,
      offset: message.offset,
      key: toBuffer(message.key),
      value: message.value,
    }
    let value: unknown = null
    let failure: RecordError | undefined
    if (message.value !== null) {
      try {
        value = input.serde.decode(message.value)
      } catch (error) {
        if (!(error instanceof RecordError)) throw error
        failure = error
      }
    }
    // Mutable only here: the event time is read from the record it then belongs to.
    const record: { -readonly [K in keyof StreamRecord]: StreamRecord[K] } = {
      key: origin.key === null ? null : origin.key.toString('utf8'),
      value,
      headers: message.headers ? decodeHeaders(message.headers) : NO_HEADERS,
      timestamp: message.timestamp ?? Date.now(),
      encodedValue: message.value ?? undefined,
      origin,
    }
    if (!failure && input.eventTime) {
      try {
        record.timestamp = input.eventTime(record)
      } catch (error) {
        if (!(error instanceof RecordError)) throw error
        failure = error
      }
    }
    if (!failure) return record
    this.deadLetter(record, failure, input.sourceName)
    return undefined
  }
}

interface QueuedRecord {
  readonly offset: number
  readonly timestamp: number
  /** Undefined when the record went to the dead-letter topic. */
  readonly record: StreamRecord | undefined
}

function toBuffer(key: ConsumedMessage['key']): Buffer | null {
  if (key === null || key === undefined) return null
  return Buffer.isBuffer(key) ? key : Buffer.from(String(key))
}

function decodeHeaders(headers: NonNullable<ConsumedMessage['headers']>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const header of headers) {
    for (const name in header) out[name] = String(header[name])
  }
  return out
}
