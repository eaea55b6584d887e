import type Kafka from 'node-rdkafka'
import type { Subject } from 'rxjs'
import type { Serde } from '../connectors/serde/serde.js'
import { NO_HEADERS, type RecordBatch, type RecordOrigin, type StreamRecord } from '../operators/record.js'
import { RecordError } from '../operators/record-error.js'
import type { TaskStores } from '../state/task-stores.js'
import { PartitionProgress } from './partition-progress.js'

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

  constructor(
    readonly id: string,
    readonly partition: number,
    readonly inputs: ReadonlyMap<string, TaskInput>,
    readonly stores: TaskStores | undefined,
    private readonly deadLetter: (record: StreamRecord, error: RecordError, step: string) => void,
  ) {
    this.state = stores && stores.partitions.length > 0 ? TaskState.RESTORING : TaskState.RUNNING
  }

  /**
   * Messages of one input partition, in offset order. Synchronous: every output is sent when
   * it returns. Offsets this task has already processed are skipped: after a rebalance gives a
   * partition back, a batch fetched before it can be followed by the same records re-fetched
   * from the committed offset.
   */
  process(topic: string, messages: Kafka.Message[]): void {
    const input = this.inputs.get(topic)
    if (!input) return
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

  /** The next offset to commit per input topic, for those that moved since the last commit. */
  committableOffsets(): Array<{ topic: string; partition: number; offset: number }> {
    const offsets: Array<{ topic: string; partition: number; offset: number }> = []
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

  private decode(input: TaskInput, message: Kafka.Message): StreamRecord | undefined {
    const origin: RecordOrigin = { topic: message.topic, partition: this.partition, offset: message.offset, key: toBuffer(message.key), value: message.value }
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
    const record: StreamRecord = {
      key: origin.key === null ? null : origin.key.toString('utf8'),
      value,
      headers: message.headers ? decodeHeaders(message.headers) : NO_HEADERS,
      timestamp: message.timestamp ?? Date.now(),
      encodedValue: message.value ?? undefined,
      origin,
    }
    if (!failure && input.eventTime) {
      try {
        return { ...record, timestamp: input.eventTime(record) }
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

function toBuffer(key: Kafka.MessageKey | undefined): Buffer | null {
  if (key === null || key === undefined) return null
  return Buffer.isBuffer(key) ? key : Buffer.from(String(key))
}

function decodeHeaders(headers: Kafka.MessageHeader[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const header of headers) {
    for (const name in header) out[name] = String(header[name])
  }
  return out
}
