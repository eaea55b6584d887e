import { KubestreamError, type Recovery } from '../../core/kubestream-error.js'

/** Codes for failures of the Kafka clients. */
export type KafkaErrorCode =
  | 'CONNECT'
  | 'MISSING_SOURCE_TOPIC'
  | 'CREATE_TOPIC'
  | 'DELIVERY'
  | 'COMMIT'
  | 'FLUSH_TIMEOUT'
  | 'TRANSACTION'
  | 'NOT_COPARTITIONED'
  | 'INTERNAL_TOPIC_MISMATCH'

const RECOVERY: Readonly<Record<KafkaErrorCode, Recovery>> = {
  // librdkafka reconnects on its own; at start-up, the process exits and its restart tries again.
  CONNECT: 'retry',
  MISSING_SOURCE_TOPIC: 'stop',
  CREATE_TOPIC: 'stop',
  DELIVERY: 'stop',
  // The group refused the commit: it moved on, and the partitions' next owner repeats from the last commit.
  COMMIT: 'restart-task',
  FLUSH_TIMEOUT: 'stop',
  TRANSACTION: 'stop',
  NOT_COPARTITIONED: 'stop',
  INTERNAL_TOPIC_MISMATCH: 'stop',
}

export class KafkaError extends KubestreamError<KafkaErrorCode> {
  get recovery(): Recovery {
    return RECOVERY[this.code]
  }
}
