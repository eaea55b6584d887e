import type Kafka from 'node-rdkafka'
import type { Subject } from 'rxjs'
import type { Serde } from '../connectors/serde/serde.js'
import { NO_HEADERS, type RecordBatch, type RecordOrigin, type StreamRecord } from '../operators/record.js'
import { RecordError } from '../operators/record-error.js'
import type { PipelineRuntime } from '../topology/compile.js'
import { PartitionProgress } from './partition-progress.js'

/**
 * A sub-topology on one partition: the unit of work (and, later, of state). It decodes a
 * batch of messages, pushes it through its pipeline and keeps the partition's progress.
 */
export class StreamTask {
  readonly progress = new PartitionProgress()

  constructor(
    readonly id: string,
    private readonly sourceName: string,
    readonly topic: string,
    readonly partition: number,
    private readonly serde: Serde,
    private readonly pipeline: Subject<RecordBatch>,
    private readonly runtime: PipelineRuntime,
  ) {}

  /**
   * Messages of this task's partition, in offset order. Synchronous: every output is sent when
   * it returns. Offsets this task has already processed are skipped: after a rebalance gives a
   * partition back, a batch fetched before it can be followed by the same records re-fetched
   * from the committed offset.
   */
  process(messages: Kafka.Message[]): void {
    const batch: RecordBatch = []
    const nextOffset = this.progress.nextOffset
    for (const message of messages) {
      if (message.offset < nextOffset) continue
      const origin: RecordOrigin = {
        topic: this.topic,
        partition: this.partition,
        offset: message.offset,
        key: toBuffer(message.key),
        value: message.value,
      }
      const record = this.decode(message, origin)
      if (record) batch.push(record)
    }
    if (batch.length > 0) this.pipeline.next(batch)
    this.progress.processedThrough(messages[messages.length - 1].offset)
  }

  close(): void {
    this.pipeline.complete()
  }

  private decode(message: Kafka.Message, origin: RecordOrigin): StreamRecord | undefined {
    let value: unknown = null
    let failure: RecordError | undefined
    if (message.value !== null) {
      try {
        value = this.serde.decode(message.value)
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
    if (!failure) return record
    this.runtime.deadLetter(record, failure, this.sourceName)
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
