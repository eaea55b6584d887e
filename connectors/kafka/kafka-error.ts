/** Codes for failures of the Kafka connectors; `canRetry` says whether trying again can help. */
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

export class KafkaError extends Error {
  constructor(readonly code: KafkaErrorCode, message: string, readonly canRetry: boolean, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'KafkaError'
  }
}
