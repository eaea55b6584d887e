import type { FieldTree } from '../connectors/serde/json-projection.js'
import { fieldTreeOf, type ValueRead } from '../expression/value-reads.js'
import type { SourceNode, StepNode } from './graph.js'

/** The fields of a source's value its sub-topology reads; undefined when it reads the value whole. */
export function sourceFieldTree(source: SourceNode): FieldTree | undefined {
  return fieldTreeOf([...(source.timestamp?.valueReads ?? []), ...sourceValueReads(source)])
}

/** Every read of the source's value: down the graph until a map or flatMap replaces the value. */
function sourceValueReads(node: SourceNode | StepNode): ValueRead[] {
  const reads: ValueRead[] = []
  for (const child of node.children) {
    if (child.kind === 'sink') {
      reads.push(...child.topic.valueReads)
      continue
    }
    const { operator } = child
    switch (operator.type) {
      case 'filter':
        reads.push(...operator.predicate.valueReads)
        break
      case 'keyBy':
        reads.push(...operator.selector.valueReads)
        break
      case 'headers':
        for (const [, expression] of operator.headers) reads.push(...expression.valueReads)
        break
      case 'map':
      case 'flatMap':
        reads.push(...operator.projection.valueReads)
        continue
      // An aggregation's output is its aggregate: below it, nothing reads the source's value.
      case 'aggregate':
        reads.push(...(operator.initializer?.valueReads ?? []), ...(operator.adder?.valueReads ?? []))
        continue
      // A join's output is its joined value.
      case 'join':
        reads.push(...(operator.key?.valueReads ?? []), ...operator.value.valueReads)
        continue
      default:
        return unknownOperator(operator)
    }
    reads.push(...sourceValueReads(child))
  }
  return reads
}

/** An operator added without saying what it reads: fails to type-check, and reads the value whole. */
function unknownOperator(operator: never): ValueRead[] {
  void operator
  return [{ path: [] }]
}
