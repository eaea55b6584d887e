import { QueryError } from './query-error.js'

/** One interactive query, parsed and checked; what it means is in `query-service.ts`. */
export type StoreQuery =
  | { readonly kind: 'value'; readonly store: string; readonly key: string }
  | {
      readonly kind: 'windows'
      readonly store: string
      readonly key: string
      readonly from?: number
      readonly to?: number
    }
  | { readonly kind: 'sessions'; readonly store: string; readonly key: string }
  | { readonly kind: 'owner'; readonly store: string; readonly key: string }
  | {
      readonly kind: 'range'
      readonly store: string
      /** Keys of a key-value store; window starts (as `windows` reads them) of a window store. */
      readonly from?: string
      readonly to?: string
      /** From the continuation token of the previous page: the last entry it held. */
      readonly after?: RangePosition
      readonly limit: number
      /** Set by the replica that forwards a range: the partitions the owner answers for. */
      readonly partitions?: readonly number[]
    }

export type QueryKind = StoreQuery['kind']

/** Where a range page ended: a key, and in a window store the window's start. */
export interface RangePosition {
  readonly key: string
  readonly start?: number
}

/** A page of a range holds at most this many entries. */
export const MAX_RANGE_LIMIT = 10_000
const DEFAULT_RANGE_LIMIT = 100
/** LMDB's key limit, as the stores enforce it. */
const MAX_KEY_BYTES = 1900

const KINDS: readonly QueryKind[] = ['value', 'windows', 'sessions', 'owner', 'range']

/**
 * Reads a query from `/stores/<store>/<kind>?...`: `value`, `windows`, `sessions` and `owner`
 * take `key`; `windows` takes `from`/`to` (epoch ms or ISO-8601, `to` exclusive); `range` takes
 * `from`/`to` keys, `limit` and `after` (a continuation token). Throws a BAD_QUERY QueryError.
 */
export function parseStoreQuery(path: string, params: URLSearchParams): StoreQuery {
  const match = /^\/stores\/([^/]+)\/([^/]+)\/?$/.exec(path)
  if (!match) throw new QueryError('BAD_QUERY', `${path}: expected /stores/<store>/<${KINDS.join('|')}>`)
  const store = decodeURIComponent(match[1])
  const kind = match[2] as QueryKind
  if (!KINDS.includes(kind)) throw new QueryError('BAD_QUERY', `unknown query "${kind}": one of ${KINDS.join(', ')}`)
  if (kind === 'range') return parseRange(store, params)
  const key = requiredKey(params)
  if (kind !== 'windows') return { kind, store, key }
  const from = optionalTime(params, 'from')
  const to = optionalTime(params, 'to')
  if (from !== undefined && to !== undefined && from >= to)
    throw new QueryError('BAD_QUERY', `from (${from}) must be before to (${to})`)
  return { kind, store, key, from, to }
}

function parseRange(store: string, params: URLSearchParams): StoreQuery {
  const from = optionalKey(params, 'from')
  const to = optionalKey(params, 'to')
  const limitText = params.get('limit')
  const limit = limitText === null ? DEFAULT_RANGE_LIMIT : Number(limitText)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RANGE_LIMIT)
    throw new QueryError('BAD_QUERY', `limit must be an integer from 1 to ${MAX_RANGE_LIMIT}, not "${limitText}"`)
  const token = params.get('after')
  const after = token === null ? undefined : decodeToken(token)
  const partitionsText = params.get('partitions')
  const partitions = partitionsText === null ? undefined : partitionsText.split(',').map(Number)
  if (partitions?.some((p) => !Number.isInteger(p) || p < 0))
    throw new QueryError('BAD_QUERY', `partitions must be a list of partition numbers, not "${partitionsText}"`)
  return { kind: 'range', store, from, to, after, limit, partitions }
}

function requiredKey(params: URLSearchParams): string {
  const key = optionalKey(params, 'key')
  if (key === undefined) throw new QueryError('BAD_QUERY', 'the query needs a key (?key=...)')
  return key
}

function optionalKey(params: URLSearchParams, name: string): string | undefined {
  const key = params.get(name)
  if (key === null) return undefined
  const bytes = Buffer.byteLength(key, 'utf8')
  if (bytes > MAX_KEY_BYTES)
    throw new QueryError('BAD_QUERY', `${name} is ${bytes} bytes; keys are at most ${MAX_KEY_BYTES}`)
  return key
}

function optionalTime(params: URLSearchParams, name: string): number | undefined {
  return parseTime(params.get(name) ?? undefined, name)
}

/** Epoch milliseconds or an ISO-8601 time; undefined stays undefined. */
export function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined
  const time = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isSafeInteger(time) || time < 0)
    throw new QueryError('BAD_QUERY', `${name} must be epoch milliseconds or an ISO-8601 time, not "${text}"`)
  return time
}

/** The continuation token of a range page: where the page ended, opaque to callers. */
export function encodeToken(position: RangePosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url')
}

export function decodeToken(token: string): RangePosition {
  try {
    const position = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as RangePosition
    if (typeof position.key === 'string' && (position.start === undefined || Number.isSafeInteger(position.start)))
      return position
  } catch {
    // Not JSON: said below.
  }
  throw new QueryError('BAD_QUERY', `"${token}" is not a continuation token (the "next" of a range page)`)
}
