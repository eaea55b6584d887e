import { RecordError } from './record-error.js'

/**
 * How far ahead of the wall clock a record's timestamp may be: Kafka's default
 * `log.message.timestamp.after.max.ms` (KIP-937, Kafka 3.6+). A broker refuses a produce batch
 * holding a record stamped later than that with INVALID_TIMESTAMP, failing every record in it
 * and stopping the replica; such a record is dead-lettered before it gets there.
 */
export const MAX_TIMESTAMP_AHEAD_MS = 60 * 60 * 1000

/** Throws the record's error when `timestamp` is further ahead of `now` than brokers accept. */
export function checkTimestampAhead(timestamp: number, now: number): void {
  if (timestamp - now <= MAX_TIMESTAMP_AHEAD_MS) return
  const minutes = Math.round((timestamp - now) / 60_000)
  throw new RecordError(
    'TIMESTAMP',
    `timestamp ${new Date(timestamp).toISOString()} is ${minutes} min ahead of this replica's clock; brokers ` +
      `refuse records more than log.message.timestamp.after.max.ms (${MAX_TIMESTAMP_AHEAD_MS / 60_000} min by ` +
      'default) ahead',
  )
}
