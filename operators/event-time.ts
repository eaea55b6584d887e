import { RecordError } from '../core/record-error.js'
import type { StreamRecord } from '../core/record.js'
import { checkTimestampAhead } from '../core/timestamp-limit.js'
import { type CompiledExpression } from '../expression/expression.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'

/**
 * A source's timestamp extractor: the record's event time from a CEL expression that gives
 * epoch milliseconds, a CEL timestamp, or an RFC 3339 string. Anything else is that record's
 * error (dead-lettered), never a silent fallback to the Kafka timestamp.
 */
export function eventTime(expression: CompiledExpression): (record: StreamRecord) => number {
  const scope = newExpressionContext()
  return (record) => {
    const result = expression.evaluate(exposeRecord(scope, record))
    const ms =
      typeof result === 'number'
        ? result
        : typeof result === 'string'
          ? Date.parse(result)
          : result instanceof Date
            ? result.getTime()
            : Number.NaN
    if (!Number.isFinite(ms) || ms < 0)
      throw new RecordError('TIMESTAMP', `timestamp ${expression.source} gave ${JSON.stringify(result)}, not a time`)
    // Caught at the source, before a window counts it and stamps an output with it.
    checkTimestampAhead(ms, Date.now())
    return Math.trunc(ms)
  }
}
