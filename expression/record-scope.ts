import type { StreamRecord } from '../core/record.js'

/**
 * What a CEL expression sees of a record. One object is reused per operator and its fields
 * overwritten per record, so evaluating allocates nothing of ours.
 */
export interface ExpressionContext {
  value: unknown
  key: unknown
  headers: Record<string, string>
  topic: string
  partition: number
  offset: number
  timestamp: number
  /** The aggregate so far, in reduce and aggregate expressions; null elsewhere. */
  aggregate: unknown
  /** The table's value, in a join's expression; null elsewhere. */
  table: unknown
}

/** Points an operator's reusable expression context at a record. */
export function exposeRecord(context: ExpressionContext, record: StreamRecord): ExpressionContext {
  context.value = record.value
  context.key = record.key
  context.headers = record.headers
  context.topic = record.origin.topic
  context.partition = record.origin.partition
  context.offset = record.origin.offset
  context.timestamp = record.timestamp
  return context
}

/** A fresh context for one operator instance. */
export function newExpressionContext(): ExpressionContext {
  return {
    value: null,
    key: null,
    headers: {},
    topic: '',
    partition: 0,
    offset: 0,
    timestamp: 0,
    aggregate: null,
    table: null,
  }
}
