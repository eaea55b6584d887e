import type { RecordCollector } from '../core/record-collector.js'
import type { RecordError } from '../core/record-error.js'
import type { StreamRecord } from '../core/record.js'
import type { DeadLetterNote } from './console/console-status.js'

/** Header names on dead-lettered records. */
export const DLQ_HEADERS = {
  code: 'kubestream.error.code',
  message: 'kubestream.error.message',
  step: 'kubestream.error.step',
  topic: 'kubestream.source.topic',
  partition: 'kubestream.source.partition',
  offset: 'kubestream.source.offset',
  application: 'kubestream.application.id',
} as const

const LATEST_KEPT = 20

/**
 * Writes records that failed to the dead-letter topic with their original key and bytes and
 * headers naming the error and where the record came from. Like any output, it is flushed
 * before the offset of its record is committed.
 */
export class DeadLetterWriter {
  /** Dead letters written, by step and error code; read by metrics. */
  readonly counts = new Map<string, number>()
  /** The last LATEST_KEPT dead letters' reasons, newest first, for the topology page. */
  readonly latest: DeadLetterNote[] = []

  constructor(
    private readonly topic: string,
    private readonly applicationId: string,
    private readonly collector: RecordCollector,
  ) {}

  write(record: StreamRecord, error: RecordError, step: string): void {
    const { origin } = record
    this.collector.send({
      topic: this.topic,
      key: origin.key,
      value: origin.value,
      headers: [
        { [DLQ_HEADERS.code]: error.code },
        { [DLQ_HEADERS.message]: error.message.slice(0, 2000) },
        { [DLQ_HEADERS.step]: step },
        { [DLQ_HEADERS.topic]: origin.topic },
        { [DLQ_HEADERS.partition]: String(origin.partition) },
        { [DLQ_HEADERS.offset]: String(origin.offset) },
        { [DLQ_HEADERS.application]: this.applicationId },
      ],
      // A record dead-lettered for its timestamp would be refused again with it.
      timestamp: Math.min(record.timestamp, Date.now()),
    })
    const label = `${step}\u0000${error.code}`
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1)
    this.latest.unshift({ time: Date.now(), step, code: error.code, reason: error.message.slice(0, 500) })
    if (this.latest.length > LATEST_KEPT) this.latest.pop()
  }
}
