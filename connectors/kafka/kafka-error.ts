import Kafka from 'node-rdkafka'
import { KubestreamError, type Recovery } from '../../core/kubestream-error.js'

const { ERRORS } = Kafka.CODES

/** Codes for failures of the Kafka clients. */
export type KafkaErrorCode =
  | 'CONNECT'
  | 'MISSING_SOURCE_TOPIC'
  | 'CREATE_TOPIC'
  | 'DELIVERY'
  | 'DELIVERY_TIMEOUT'
  | 'COMMIT'
  | 'FLUSH_TIMEOUT'
  | 'TRANSACTION'
  | 'TRANSACTION_ABORTABLE'
  | 'TRANSACTION_TIMED_OUT'
  | 'PRODUCER_FENCED'
  | 'REBALANCE'
  | 'NOT_COPARTITIONED'
  | 'INTERNAL_TOPIC_MISMATCH'
  | 'CONFIG'
  | 'AUTHENTICATION'
  | 'AUTHORIZATION'

const RECOVERY: Readonly<Record<KafkaErrorCode, Recovery>> = {
  // librdkafka reconnects on its own; at start-up, the process exits and its restart tries again.
  CONNECT: 'retry',
  MISSING_SOURCE_TOPIC: 'stop',
  CREATE_TOPIC: 'stop',
  DELIVERY: 'stop',
  // Not acknowledged in message.timeout.ms (a broker away that long; under exactly-once the limit is
  // transaction.timeout.ms): nothing past it was committed, so the tasks restart from the last commit.
  DELIVERY_TIMEOUT: 'restart-task',
  // The group refused the commit: it moved on, and the partitions' next owner repeats from the last commit.
  COMMIT: 'restart-task',
  FLUSH_TIMEOUT: 'stop',
  // The transaction failed in a way librdkafka calls fatal for the producer.
  TRANSACTION: 'stop',
  // The group or the transaction moved on (Kafka Streams' TaskMigratedException): abort, revive the tasks.
  TRANSACTION_ABORTABLE: 'restart-task',
  // Open longer than transaction.timeout.ms, the transaction was aborted by the coordinator: revive the tasks.
  TRANSACTION_TIMED_OUT: 'restart-task',
  // Another process took this transactional.id: two replicas share an instance id, and this one must go.
  PRODUCER_FENCED: 'stop',
  // The consumer could not take or let go of partitions: the thread revives its tasks.
  REBALANCE: 'restart-task',
  NOT_COPARTITIONED: 'stop',
  INTERNAL_TOPIC_MISMATCH: 'stop',
  // A security setting that cannot work (a secret file missing): nothing to retry until it is fixed.
  CONFIG: 'stop',
  // The brokers refused the credentials (a wrong password, an unknown user, a certificate they do not trust).
  AUTHENTICATION: 'stop',
  // The credentials are good but an ACL is missing: the message names the resource and the operation.
  AUTHORIZATION: 'stop',
}

export class KafkaError extends KubestreamError<KafkaErrorCode> {
  get recovery(): Recovery {
    return RECOVERY[this.code]
  }
}

/** What librdkafka says of a failed transaction call, beyond its code (rd_kafka_error_t's flags). */
export interface TransactionFailure {
  readonly code: number
  readonly message: string
  readonly isFatal?: boolean
  readonly isRetriable?: boolean
  readonly isTxnRequiresAbort?: boolean
}

/** Answers that mean this member's generation is over: the group rebalanced or dropped it. */
const GROUP_MOVED_ON: ReadonlySet<number> = new Set([
  ERRORS.ERR_ILLEGAL_GENERATION,
  ERRORS.ERR_UNKNOWN_MEMBER_ID,
  ERRORS.ERR_REBALANCE_IN_PROGRESS,
  ERRORS.ERR_FENCED_INSTANCE_ID,
  ERRORS.ERR__ASSIGNMENT_LOST,
])

/** Answers that mean another producer with this transactional.id has taken over. */
const FENCED: ReadonlySet<number> = new Set([
  ERRORS.ERR__FENCED,
  ERRORS.ERR_PRODUCER_FENCED,
  ERRORS.ERR_INVALID_PRODUCER_EPOCH,
])

/**
 * A failed transaction call as the runtime acts on it: fenced by another producer (stop, named);
 * fatal otherwise (stop); the group moved on or the transaction must be aborted (restart the
 * tasks, as Kafka Streams does on TaskMigratedException); anything else stops.
 */
export function transactionError(what: string, failure: TransactionFailure): KafkaError {
  const message = `cannot ${what} the transaction: ${failure.message}`
  if (FENCED.has(failure.code) && (failure.isFatal ?? true))
    return new KafkaError(
      'PRODUCER_FENCED',
      `${message} — another process took over this replica's transactional.id ` +
        '(two replicas with one instance id, or a zombie after a pause); this one stops',
      { cause: failure },
    )
  if (failure.isFatal) return new KafkaError('TRANSACTION', message, { cause: failure })
  if (failure.isTxnRequiresAbort || GROUP_MOVED_ON.has(failure.code))
    return new KafkaError('TRANSACTION_ABORTABLE', message, { cause: failure })
  return new KafkaError('TRANSACTION', message, { cause: failure })
}
