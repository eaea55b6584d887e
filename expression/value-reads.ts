import type { FieldTree } from '../connectors/serde/json-projection.js'

/**
 * Field names below the record value: `value.event.metadata.uid` reads `['event', 'metadata', 'uid']`; `[]` is the
 * value whole.
 */
export type FieldPath = readonly string[]

/** One read of the value: the field at `path`, whole, or (`has(value.a.b)`) only whether it is there. */
export interface ValueRead {
  readonly path: FieldPath
  readonly presenceOnly?: boolean
}

/** The node shape of @marcbachmann/cel-js ASTs: `{op: '.', args: [base, field]}`, `{op: 'id', args: name}`, … */
interface CelNode {
  readonly op: string
  readonly args: unknown
}

/**
 * The parts of `value` a CEL expression can look at. A chain of field selections rooted at
 * `value` reads the field it ends on whole (whatever consumes it: a comparison, `size`, a
 * comprehension), except under `has()`, which only asks whether the field is there; `value`
 * reached any other way (`value[k]`, `dyn(value)`) reads it all. A comprehension variable
 * that shadows `value` only adds reads, never hides one.
 */
export function valueReadsOf(ast: unknown): ValueRead[] {
  const reads: ValueRead[] = []
  collect(ast, reads)
  return reads
}

function collect(node: unknown, reads: ValueRead[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, reads)
    return
  }
  if (!isCelNode(node)) return
  const path = selectionPath(node)
  if (path) return void reads.push({ path })
  const tested = presenceTest(node)
  if (tested) return void reads.push({ path: tested, presenceOnly: true })
  collect(node.args, reads)
}

/** `has(value.a.b)`: the path it tests, else undefined. */
function presenceTest(node: CelNode): string[] | undefined {
  if (node.op !== 'call' || !Array.isArray(node.args) || node.args[0] !== 'has') return undefined
  const [, args] = node.args as [string, unknown]
  if (!Array.isArray(args) || args.length !== 1 || !isCelNode(args[0])) return undefined
  const path = selectionPath(args[0])
  return path && path.length > 0 ? path : undefined
}

function selectionPath(node: CelNode): string[] | undefined {
  if (node.op === 'id') return node.args === 'value' ? [] : undefined
  if (node.op !== '.' || !Array.isArray(node.args) || typeof node.args[1] !== 'string' || !isCelNode(node.args[0]))
    return undefined
  const base = selectionPath(node.args[0])
  return base && [...base, node.args[1]]
}

function isCelNode(node: unknown): node is CelNode {
  return typeof node === 'object' && node !== null && typeof (node as CelNode).op === 'string'
}

/**
 * Merges reads into the tree a projection decodes; a field read whole covers every path below
 * it, and a field only tested for presence is kept with no fields of its own (an empty tree).
 * Undefined when some read is the value itself: then nothing can be left out.
 */
export function fieldTreeOf(reads: Iterable<ValueRead>): FieldTree | undefined {
  const root: MutableTree = new Map()
  for (const { path, presenceOnly } of reads) {
    if (path.length === 0) return undefined
    let tree = root
    for (let depth = 0; depth < path.length; depth++) {
      const name = path[depth]
      const below = tree.get(name)
      if (below === true) break
      const last = depth === path.length - 1
      if (last && !presenceOnly) tree.set(name, true)
      else if (below === undefined) tree.set(name, (tree = new Map()))
      else tree = below
    }
  }
  return root
}

type MutableTree = Map<string, MutableTree | true>

/** `event.metadata.uid`-style paths of a tree, for `describe`; a field only tested for presence ends in `?`. */
export function fieldPathsOf(tree: FieldTree, prefix = ''): string[] {
  const paths: string[] = []
  for (const [name, below] of tree) {
    if (below === true) paths.push(prefix + name)
    else if (below.size === 0) paths.push(`${prefix}${name}?`)
    else paths.push(...fieldPathsOf(below, `${prefix}${name}.`))
  }
  return paths
}
