import { KubestreamError, type Recovery } from './kubestream-error.js'
import type { StreamRecord } from './record.js'

/** Why a record went to the dead-letter topic; written to its `kubestream.error.code` header. */
export type RecordErrorCode =
  | 'DESERIALIZATION'
  | 'EXPRESSION'
  | 'EXPRESSION_TYPE'
  | 'SERIALIZATION'
  | 'TOPIC_NAME'
  | 'NULL_KEY'
  | 'STATE_KEY'
  | 'TIMESTAMP'

/** A record that cannot be processed. The record is dead-lettered and the task goes on. */
export class RecordError extends KubestreamError<RecordErrorCode> {
  get recovery(): Recovery {
    return 'dead-letter'
  }
}

/** Sends a record that cannot be processed to the dead-letter topic, with the step that gave up on it. */
export type DeadLetter = (record: StreamRecord, error: RecordError, step: string) => void
