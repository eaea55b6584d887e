import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { closest } from 'fastest-levenshtein'
import { readFileSync } from 'node:fs'
import {
  isMap,
  isScalar,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Scalar,
  type Node as YamlNode,
} from 'yaml'
import { buildGraph } from './build-graph.js'
import { formatPath, type DocumentPath, type Locator } from './document-path.js'
import { MissingVariableError, substituteEnv } from './env-substitution.js'
import { TopologyError, type SourcePosition } from './errors.js'
import type { TopologyGraph } from './graph.js'
import { topologySchema } from './schema.js'
import type { KafkaSettings, TopologyDocument } from './spec.js'

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true })
const validate = ajv.compile<TopologyDocument>(topologySchema)
/** Compiled on first use: most loads have no Kafka config file, and a compile costs start time. */
let validateKafka: ValidateFunction<KafkaSettings> | undefined
/** Where spec.kafka sits in a topology: a Kafka config file's errors are worded as if written there. */
const KAFKA_PATH: DocumentPath = ['spec', 'kafka']

export interface LoadOptions {
  /**
   * A YAML file shaped like spec.kafka (bootstrapServers, security, config, consumer,
   * producer) whose fields win over the topology's: where a deployment's brokers and
   * credentials come from (the Helm chart renders one from its values).
   */
  kafkaFile?: string
}

/** Reads, validates and compiles a topology file. Every failure is a TopologyError with file:line:column. */
export function loadTopologyFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): TopologyGraph {
  return loadTopology(readText(file, 'topology'), file, env, options)
}

export function loadTopology(
  text: string,
  file = '<topology>',
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): TopologyGraph {
  const topology = parseYaml(text, file, env)
  const value = topology.value as TopologyDocument
  if (options.kafkaFile !== undefined) {
    const kafka = parseYaml(readText(options.kafkaFile, 'Kafka config'), options.kafkaFile, env)
    validateKafka ??= ajv.compile<KafkaSettings>(topologySchema.properties.spec.properties.kafka)
    check(validateKafka, kafka, KAFKA_PATH)
    if (value && typeof value === 'object' && value.spec && typeof value.spec === 'object')
      value.spec.kafka = overlayKafka(value.spec.kafka, kafka.value as KafkaSettings)
  }
  check(validate, topology, [])
  return buildGraph(value, topology.locate, env)
}

/** The Kafka config file's fields over the topology's; client properties merged key by key. */
function overlayKafka(base: KafkaSettings = {}, over: KafkaSettings): KafkaSettings {
  const merged: KafkaSettings = { ...base, ...over }
  for (const part of ['config', 'consumer', 'producer'] as const)
    if (base[part] && over[part]) merged[part] = { ...base[part], ...over[part] }
  return merged
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new TopologyError('FILE', `cannot read ${what} file ${file}: ${(error as Error).message}`)
  }
}

/** A YAML file parsed, its `${VAR}`s substituted, with what maps a path back to file:line:column. */
interface ParsedYaml {
  readonly doc: Document
  readonly value: unknown
  readonly locate: Locator
  readonly locateField: (path: DocumentPath, field: string) => SourcePosition | undefined
  /** Whether the scalar at a path had a `${VAR}` substituted. */
  readonly substituted: (path: DocumentPath) => boolean
}

function parseYaml(text: string, file: string, env: NodeJS.ProcessEnv): ParsedYaml {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number): SourcePosition => ({ file, ...toLineColumn(lines, offset) })
  const yamlError = doc.errors[0]
  if (yamlError) throw new TopologyError('YAML_SYNTAX', yamlError.message.split('\n')[0], at(yamlError.pos[0]))
  const substituted = substituteEnvInScalars(doc, env, at)
  return {
    doc,
    value: doc.toJS() as unknown,
    locate: (path, offsetInValue) => locateInDocument(doc, text, path, offsetInValue, at),
    locateField: (path, field) => locateKey(doc, path, field, at),
    substituted: (path) => substituted.has(doc.getIn(path, true) as Scalar),
  }
}

/**
 * Validates a parsed document (retyping substituted values where the schema asks) or throws
 * the most useful error; `at` is where the document sits in a topology, for wording and hints.
 */
function check(validator: ValidateFunction, parsed: ParsedYaml, at: DocumentPath): void {
  const { value } = parsed
  const retyped = () => retypeWhereSchemaAsks(value, validator.errors ?? [], parsed.substituted)
  if (validator(value) || (retyped() && validator(value))) return
  const inDocument = (path: DocumentPath) => path.slice(at.length)
  throw schemaError(
    (validator.errors ?? []).map((error) => ({ ...error, instancePath: pathToPointer(at) + error.instancePath })),
    (path, offsetInValue) => parsed.locate(inDocument(path), offsetInValue),
    (path, field) => parsed.locateField(inDocument(path), field),
  )
}

/** A document built in code (TopologyBuilder): the same checks, without positions. */
export function graphFromDocument(value: unknown): TopologyGraph {
  if (!validate(value))
    throw schemaError(
      validate.errors ?? [],
      () => undefined,
      () => undefined,
    )
  return buildGraph(value)
}

function toLineColumn(lines: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lines.linePos(offset)
  return { line, column: col }
}

/** Replaces `${VAR}` in every string scalar; returns the scalars it changed. */
function substituteEnvInScalars(
  doc: Document,
  env: NodeJS.ProcessEnv,
  at: (offset: number) => SourcePosition,
): Set<Scalar> {
  const changed = new Set<Scalar>()
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string') return
      try {
        const substituted = substituteEnv(node.value, env)
        if (substituted === node.value) return
        // Text, never YAML: a password `0123` or `pa ss #x` stays as it was set.
        node.value = substituted
        changed.add(node)
      } catch (error) {
        if (!(error instanceof MissingVariableError)) throw error
        throw new TopologyError('ENV', error.message, at(node.range?.[0] ?? 0))
      }
    },
  })
  return changed
}

/**
 * A substituted value stays a string unless the schema asks for a number or a boolean there
 * (`commitIntervalMs: ${COMMIT_INTERVAL_MS:-1000}`): where validation failed on the type of a
 * substituted string that reads as one, it becomes one. Returns whether anything changed.
 */
function retypeWhereSchemaAsks(
  value: unknown,
  errors: ErrorObject[],
  wasSubstituted: (path: DocumentPath) => boolean,
): boolean {
  let changed = false
  for (const error of errors) {
    if (error.keyword !== 'type') continue
    const path = pointerToPath(error.instancePath)
    if (path.length === 0 || !wasSubstituted(path)) continue
    const parent = path.slice(0, -1).reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], value)
    const container = parent as Record<string | number, unknown>
    const key = path[path.length - 1]
    const text = container[key]
    if (typeof text !== 'string') continue
    const typed = asSchemaType(text, String(error.params.type).split(','))
    if (typed === undefined) continue
    container[key] = typed
    changed = true
  }
  return changed
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/

function asSchemaType(text: string, wanted: string[]): number | boolean | undefined {
  if ((wanted.includes('number') || wanted.includes('integer')) && NUMBER.test(text)) return Number(text)
  if (wanted.includes('boolean') && (text === 'true' || text === 'false')) return text === 'true'
  return undefined
}

/**
 * The node at `path`; with an offset inside a string value, the position of that character.
 * The expression text is searched for in the node's source so quoting and block scalars
 * (`|`, `>`) map back correctly.
 */
function locateInDocument(
  doc: Document,
  text: string,
  path: DocumentPath,
  offsetInValue: number | undefined,
  at: (offset: number) => SourcePosition,
): SourcePosition | undefined {
  const node = nodeAt(doc, path)
  const range = node?.range
  if (!range) return undefined
  if (offsetInValue === undefined || !isScalar(node) || typeof node.value !== 'string') return at(range[0])
  const value = node.value
  // A parse error at end of input points past a block scalar's final newline; show the last text.
  offsetInValue = Math.min(offsetInValue, value.trimEnd().length)
  const lineStart = value.lastIndexOf('\n', offsetInValue - 1) + 1
  const lineEnd = value.indexOf('\n', offsetInValue)
  const line = value.slice(lineStart, lineEnd < 0 ? undefined : lineEnd)
  const found = line ? text.indexOf(line, range[0]) : -1
  return at(found >= 0 && found < range[1] ? found + (offsetInValue - lineStart) : range[0])
}

function nodeAt(doc: Document, path: DocumentPath): YamlNode | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as YamlNode | undefined
    if (node && typeof node === 'object' && 'range' in node) return node
  }
  return undefined
}

/** Picks the most useful of ajv's errors and words it for the person who wrote the file. */
function schemaError(
  errors: ErrorObject[],
  locate: Locator,
  locateField: (path: DocumentPath, field: string) => SourcePosition | undefined,
): TopologyError {
  const unknown = errors.find((e) => e.keyword === 'additionalProperties')
  const first = unknown ?? errors.find((e) => e.keyword !== 'if') ?? errors[0]
  const path = pointerToPath(first.instancePath)
  const where = formatPath(path) || 'the document'
  if (first.keyword === 'additionalProperties') {
    const field = String(first.params.additionalProperty)
    const allowed = Object.keys(schemaAt(path)?.properties ?? {})
    const hint = allowed.length > 0 ? `; did you mean "${closest(field, allowed)}"?` : ''
    return new TopologyError(
      'UNKNOWN_FIELD',
      `unknown field "${field}" in ${where}${hint}`,
      locateField(path, field) ?? locate(path),
    )
  }
  if (first.keyword === 'required') {
    return new TopologyError(
      'SCHEMA',
      `${where} is missing required field "${String(first.params.missingProperty)}"`,
      locate(path),
    )
  }
  if (first.keyword === 'enum' || first.keyword === 'const') {
    const allowed = (first.params.allowedValues as unknown[] | undefined) ?? [first.params.allowedValue]
    return new TopologyError(
      'SCHEMA',
      `${where} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
      locate(path),
    )
  }
  return new TopologyError('SCHEMA', `${where} ${first.message ?? 'is invalid'}`, locate(path))
}

/** Where a key (not its value) is written: an unknown field is reported at its name. */
function locateKey(
  doc: Document,
  path: DocumentPath,
  field: string,
  at: (offset: number) => SourcePosition,
): SourcePosition | undefined {
  const parent = doc.getIn(path, true)
  if (!isMap(parent)) return undefined
  const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === field)
  const range = isScalar(pair?.key) ? pair.key.range : undefined
  return range ? at(range[0]) : undefined
}

function pathToPointer(path: DocumentPath): string {
  return path.map((part) => `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')
}

function pointerToPath(pointer: string): DocumentPath {
  if (!pointer) return []
  return pointer
    .slice(1)
    .split('/')
    .map((part) => {
      const unescaped = part.replace(/~1/g, '/').replace(/~0/g, '~')
      return /^\d+$/.test(unescaped) ? Number(unescaped) : unescaped
    })
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>
  items?: SchemaNode
}

function schemaAt(path: DocumentPath): SchemaNode | undefined {
  let node: SchemaNode | undefined = topologySchema as unknown as SchemaNode
  for (const part of path) node = typeof part === 'number' ? node?.items : node?.properties?.[part]
  return node
}
