import { RecordError } from '../core/record-error.js'
import { type CompiledExpression, compileExpression, ExpressionSyntaxError } from './expression.js'
import { type ExpressionContext } from './record-scope.js'
import type { ValueRead } from './value-reads.js'

/**
 * A string with `${…}` parts that are CEL, such as a sink's `events.${value.event.metadata.namespace}`.
 * A template without parts evaluates to its text at no cost.
 */
export interface CompiledTemplate {
  readonly source: string
  readonly isStatic: boolean
  /** The parts of the record value its expressions read. */
  readonly valueReads: readonly ValueRead[]
  render(context: ExpressionContext): string
}

export function compileTemplate(source: string): CompiledTemplate {
  const literals: string[] = []
  const parts: CompiledExpression[] = []
  let cursor = 0
  for (;;) {
    const open = source.indexOf('${', cursor)
    if (open < 0) break
    const close = source.indexOf('}', open + 2)
    if (close < 0) throw new ExpressionSyntaxError('unterminated ${ in template', open)
    literals.push(source.slice(cursor, open))
    try {
      parts.push(compileExpression(source.slice(open + 2, close)))
    } catch (error) {
      if (error instanceof ExpressionSyntaxError)
        throw new ExpressionSyntaxError(error.summary, open + 2 + error.offset)
      throw error
    }
    cursor = close + 1
  }
  const tail = source.slice(cursor)
  if (parts.length === 0) return { source, isStatic: true, valueReads: [], render: () => tail }
  return {
    source,
    isStatic: false,
    valueReads: parts.flatMap((part) => part.valueReads),
    render(context) {
      let out = literals[0]
      for (let i = 0; i < parts.length; i++) {
        out += stringify(parts[i].evaluate(context)) + (i + 1 < parts.length ? literals[i + 1] : tail)
      }
      return out
    },
  }
}

function stringify(part: unknown): string {
  if (part === null || part === undefined) throw new RecordError('EXPRESSION', 'template part evaluated to null')
  if (typeof part === 'string') return part
  if (typeof part === 'number' || typeof part === 'boolean' || typeof part === 'bigint') return String(part)
  return JSON.stringify(part)
}
