import { KubestreamError, type Recovery } from '../../core/kubestream-error.js'

/** Why an interactive query got no answer, each with its HTTP status. */
export type QueryErrorCode =
  /** The query is malformed: a missing or too long key, reversed bounds, a range too large. (400) */
  | 'BAD_QUERY'
  /** No such store, or no value under the key. (404) */
  | 'NOT_FOUND'
  /** The partition is restoring, moving or its owner does not answer: ask again shortly. (503) */
  | 'UNAVAILABLE'

const STATUS: Readonly<Record<QueryErrorCode, number>> = { BAD_QUERY: 400, NOT_FOUND: 404, UNAVAILABLE: 503 }

/** A query that cannot be answered (now): the caller's to fix (4xx) or to retry (503, with Retry-After). */
export class QueryError extends KubestreamError<QueryErrorCode> {
  get recovery(): Recovery {
    return this.code === 'UNAVAILABLE' ? 'retry' : 'stop'
  }

  get status(): number {
    return STATUS[this.code]
  }
}

/** Seconds a caller waits before asking again after a 503: about one routing refresh and commit. */
export const RETRY_AFTER_SECONDS = 1
