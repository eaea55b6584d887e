import { Environment } from '@marcbachmann/cel-js'
import { KubestreamError, type Recovery } from '../core/kubestream-error.js'
import { RecordError } from '../core/record-error.js'
import type { ExpressionContext } from './record-scope.js'
import { type ValueRead, valueReadsOf } from './value-reads.js'

export interface CompiledExpression {
  readonly source: string
  /** The parts of the record value it reads: what a projecting decoder must keep. */
  readonly valueReads: readonly ValueRead[]
  evaluate(context: ExpressionContext): unknown
}

/** A CEL expression that does not parse or type-check; `offset` is where in the source. */
export class ExpressionSyntaxError extends KubestreamError<'EXPRESSION'> {
  constructor(
    readonly summary: string,
    readonly offset: number,
  ) {
    super('EXPRESSION', summary)
  }

  /** The topology load turns it into a TopologyError with the expression's line and column. */
  get recovery(): Recovery {
    return 'stop'
  }
}

const environment = new Environment({ homogeneousAggregateLiterals: false })
  .registerVariable('value', 'dyn', { description: 'The decoded record value' })
  .registerVariable('key', 'dyn', { description: 'The record key' })
  .registerVariable('headers', 'map', { description: 'Record headers, name to UTF-8 string' })
  .registerVariable('topic', 'string', { description: 'Topic the record was read from' })
  .registerVariable('partition', 'dyn', { description: 'Partition the record was read from' })
  .registerVariable('offset', 'dyn', { description: 'Offset the record was read from' })
  .registerVariable('timestamp', 'dyn', { description: 'Record timestamp, epoch milliseconds' })
  .registerVariable('aggregate', 'dyn', { description: 'In reduce and aggregate: the aggregate so far' })
  .registerVariable('table', 'dyn', { description: 'In a join: what the table holds for the key, or null' })

/** Parses and type-checks once; throws ExpressionSyntaxError with the offending offset. */
export function compileExpression(source: string): CompiledExpression {
  let program: ((context: object) => unknown) & { ast: unknown }
  try {
    const checked = environment.check(source)
    if (!checked.valid && checked.error) throw checked.error
    program = environment.parse(source)
  } catch (error) {
    const cel = error as { summary?: string; message: string; range?: { start: number } }
    throw new ExpressionSyntaxError(cel.summary ?? cel.message, cel.range?.start ?? 0)
  }
  return {
    source,
    valueReads: valueReadsOf(program.ast),
    evaluate(context) {
      try {
        return toPlain(program(context))
      } catch (error) {
        // A missing field or a wrong type in one record is that record's problem, not the task's.
        const summary = (error as { summary?: string }).summary ?? (error as Error).message
        throw new RecordError('EXPRESSION', `${source}: ${summary}`, { cause: error })
      }
    },
  }
}

/**
 * CEL integers are BigInt and JSON cannot hold them; values leaving CEL become plain JSON-able
 * JavaScript. Only results are walked, never the record value itself.
 */
function toPlain(result: unknown): unknown {
  switch (typeof result) {
    case 'bigint':
      return Number(result)
    case 'object':
      if (result === null || result instanceof Uint8Array) return result
      if (Array.isArray(result)) return result.some(needsConversion) ? result.map(toPlain) : result
      if (result instanceof Map) return Object.fromEntries([...result].map(([k, v]) => [String(k), toPlain(v)]))
      for (const key in result) {
        if (needsConversion((result as Record<string, unknown>)[key])) {
          return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, toPlain(v)]))
        }
      }
      return result
    default:
      return result
  }
}

function needsConversion(value: unknown): boolean {
  return typeof value === 'bigint' || (typeof value === 'object' && value !== null && !(value instanceof Uint8Array))
}
