import { closest } from 'fastest-levenshtein'
import type { KafkaSecurity } from '../connectors/kafka/security.js'
import { type CompiledExpression, compileExpression, ExpressionSyntaxError } from '../expression/expression.js'
import { type CompiledTemplate, compileTemplate } from '../expression/template.js'
import { aggregateOperator } from './aggregation.js'
import { type DocumentPath, type Fail, formatPath, type Locator } from './document-path.js'
import { durationMs } from './duration.js'
import { TopologyError } from './errors.js'
import type {
  GraphNode,
  KubernetesSettings,
  SinkNode,
  SourceNode,
  StepNode,
  StepOperator,
  TopologyGraph,
  TracerSettings,
} from './graph.js'
import { joinOperator, rejectTableChildren } from './join.js'
import {
  type KubernetesSourceSpec,
  OPERATOR_KEYS,
  type StepSpec,
  type TopologyDocument,
  type TracerSourceSpec,
} from './spec.js'

const DEFAULT_PROCESSING = {
  guarantee: 'at_least_once',
  commitIntervalMs: 1000,
  // Measured with bench/fanout (100k envelopes): 1,000 is ~15% faster and uses less CPU than
  // 5,000, most likely because a smaller batch's garbage dies young instead of being promoted.
  maxBatchSize: 1000,
  // ~0.5 KB each until the commit (the buffer entry, then the changelog record in librdkafka's queue):
  // counting 1M keys in a 384 MiB cgroup peaked at 166 MiB anonymous with a 1 s interval (~50,000
  // changes) and at 145 MiB committing every 250 ms, 3% slower (bench:memory's counting phase run
  // alone; README, "Benchmark").
  maxBufferedChanges: 25_000,
  shutdownTimeoutMs: 30_000,
  maxTaskIdleMs: 500,
  standbyReplicas: 0,
  repartitionPurgeIntervalMs: 30_000,
  metricsRecordingLevel: 'INFO',
} as const

/**
 * Turns a schema-valid document into the logical graph: compiles every expression, wires
 * `from:` references and rejects duplicates, dangling references and cycles. `env` is the
 * environment the document was loaded with: defaults such as a lease's namespace
 * ($POD_NAMESPACE) come from it.
 */
export function buildGraph(
  doc: TopologyDocument,
  locate: Locator = () => undefined,
  env: NodeJS.ProcessEnv = process.env,
): TopologyGraph {
  const fail = (
    code: ConstructorParameters<typeof TopologyError>[0],
    reason: string,
    path: DocumentPath,
    offset?: number,
  ): never => {
    throw new TopologyError(code, reason, locate(path, offset))
  }
  const expression = (source: string, path: DocumentPath): CompiledExpression =>
    withExpressionErrors(() => compileExpression(source), path, fail)
  const template = (source: string, path: DocumentPath): CompiledTemplate =>
    withExpressionErrors(() => compileTemplate(source), path, fail)

  const nodes = new Map<string, GraphNode>()
  const claim = (node: GraphNode, path: DocumentPath) => {
    if (nodes.has(node.name))
      fail('DUPLICATE_NAME', `name "${node.name}" is used twice; sources, steps and sinks share one namespace`, [
        ...path,
        'name',
      ])
    nodes.set(node.name, node)
  }

  const sources: SourceNode[] = doc.spec.sources.map((source, i) => {
    const readers = (['kafka', 'tracer', 'kubernetes'] as const).filter((reader) => source[reader])
    if (readers.length !== 1)
      fail(
        'SCHEMA',
        `source "${source.name}" must read exactly one of kafka, tracer or kubernetes (it has ` +
          `${readers.length === 0 ? 'none' : readers.join(' and ')})`,
        ['spec', 'sources', i, readers[1] ?? 'name'],
      )
    const inputs = source.tracer
      ? (['socket', 'ndjsonFile', 'ndjsonSocket'] as const).filter((input) => source.tracer![input])
      : ['socket']
    if (inputs.length !== 1)
      fail('SCHEMA', `tracer source "${source.name}" must read exactly one of socket, ndjsonFile or ndjsonSocket`, [
        'spec',
        'sources',
        i,
        'tracer',
        inputs[1] ?? 'topic',
      ])
    if (source.tracer && source.table)
      fail('JOIN', `source "${source.name}" reads a tracer, which cannot be a table`, ['spec', 'sources', i, 'table'])
    if (source.kubernetes && source.table)
      fail(
        'JOIN',
        `source "${source.name}" reads the Kubernetes API; to join its rows, read its topic as a table in another ` +
          `source`,
        ['spec', 'sources', i, 'table'],
      )
    if (source.kubernetes?.node !== undefined && source.kubernetes.resource !== 'pods')
      fail('SCHEMA', `source "${source.name}": node applies to pods only (services and nodes are cluster-wide)`, [
        'spec',
        'sources',
        i,
        'kubernetes',
        'node',
      ])
    if (source.kubernetes?.resource === 'nodes' && source.kubernetes.namespaces?.length)
      fail('SCHEMA', `source "${source.name}": nodes are not namespaced; remove namespaces`, [
        'spec',
        'sources',
        i,
        'kubernetes',
        'namespaces',
      ])
    const kafka = source.kafka
    const node: SourceNode = {
      kind: 'source',
      name: source.name,
      description: source.description,
      topic: kafka?.topic ?? source.tracer?.topic ?? source.kubernetes!.topic,
      format: kafka?.format ?? 'json',
      startOffset: kafka?.startOffset ?? 'earliest',
      timestamp:
        kafka?.timestamp === undefined
          ? undefined
          : expression(kafka.timestamp, ['spec', 'sources', i, 'kafka', 'timestamp']),
      table: source.table
        ? { store: source.table.store ?? source.name, global: source.table.global ?? false }
        : undefined,
      tracer: source.tracer ? tracerSettings(source.name, source.tracer) : undefined,
      kubernetes: source.kubernetes
        ? kubernetesSettings(doc.metadata.name, source.name, source.kubernetes, env)
        : undefined,
      children: [],
    }
    claim(node, ['spec', 'sources', i])
    return node
  })
  const steps = (doc.spec.steps ?? []).map((step, i) => {
    const path = ['spec', 'steps', i]
    const node: StepNode = {
      kind: 'step',
      name: step.name,
      description: step.description,
      from: step.from,
      operator: stepOperator(step, path, expression, fail, sources),
      children: [],
    }
    claim(node, path)
    return node
  })
  const sinks = (doc.spec.sinks ?? []).map((sink, i) => {
    const path = ['spec', 'sinks', i]
    const { topic, format, partitions, replicationFactor, config } = sink.kafka
    const node: SinkNode = {
      kind: 'sink',
      name: sink.name,
      description: sink.description,
      from: sink.from,
      topic: template(topic, [...path, 'kafka', 'topic']),
      format: format ?? 'json',
      topicSettings: { partitions, replicationFactor, config },
      children: [],
    }
    claim(node, path)
    return node
  })

  rejectSharedStores(sources, steps, fail)
  wire(
    [
      ...steps.map((n, i) => [n, ['spec', 'steps', i]] as const),
      ...sinks.map((n, i) => [n, ['spec', 'sinks', i]] as const),
    ],
    nodes,
    fail,
  )
  rejectCycles(steps, nodes, fail)
  rejectTableChildren(sources, steps, sinks, fail)
  checkSecurity(doc.spec.kafka?.security, fail)

  const applicationId = doc.metadata.name
  return {
    applicationId,
    kafka: doc.spec.kafka ?? {},
    processing: { ...DEFAULT_PROCESSING, ...doc.spec.processing },
    deadLetter: { ...doc.spec.deadLetter, topic: doc.spec.deadLetter?.topic ?? `${applicationId}-dlq` },
    sources,
    nodes,
  }
}

/** Each secret of spec.kafka.security comes from exactly one place. */
function checkSecurity(security: KafkaSecurity | undefined, fail: Fail): void {
  const path = ['spec', 'kafka', 'security']
  const exactlyOne = (what: string, at: string, given: Record<string, unknown>, required: boolean) => {
    const present = Object.keys(given).filter((key) => given[key] !== undefined)
    if (present.length > 1 || (required && present.length === 0))
      fail('SCHEMA', `${what} needs ${required ? 'exactly' : 'at most'} one of ${Object.keys(given).join(' or ')}`, [
        ...path,
        at,
      ])
  }
  const { tls, sasl } = security ?? {}
  if (tls)
    exactlyOne(
      'the TLS key password',
      'tls',
      { keyPasswordFile: tls.keyPasswordFile, keyPasswordEnv: tls.keyPasswordEnv },
      false,
    )
  if (sasl) {
    exactlyOne('the SASL user', 'sasl', { username: sasl.username, usernameFile: sasl.usernameFile }, true)
    exactlyOne('the SASL password', 'sasl', { passwordFile: sasl.passwordFile, passwordEnv: sasl.passwordEnv }, true)
  }
}

function stepOperator(
  step: StepSpec,
  path: DocumentPath,
  expression: (s: string, p: DocumentPath) => CompiledExpression,
  fail: Fail,
  sources: SourceNode[],
): StepOperator {
  const present = OPERATOR_KEYS.filter((key) => step[key] !== undefined)
  if (present.length !== 1) {
    const reason =
      present.length === 0
        ? `step "${step.name}" has no operator; give exactly one of ${OPERATOR_KEYS.join(', ')}`
        : `step "${step.name}" has ${present.length} operators (${present.join(', ')}); a step takes exactly one, ` +
          `chain steps with from:`
    fail('STEP_OPERATOR', reason, present.length === 0 ? [...path, 'name'] : [...path, present[1]])
  }
  const key = present[0]
  const at = [...path, key]
  switch (key) {
    case 'filter':
      return { type: 'filter', predicate: expression(step.filter!, at) }
    case 'map':
      return { type: 'map', projection: expression(step.map!, at) }
    case 'flatMap':
      return { type: 'flatMap', projection: expression(step.flatMap!, at) }
    case 'keyBy':
      return { type: 'keyBy', selector: expression(step.keyBy!, at) }
    case 'headers':
      return {
        type: 'headers',
        headers: Object.entries(step.headers!).map(
          ([name, source]) => [name, expression(source, [...at, name])] as const,
        ),
      }
    case 'count':
    case 'reduce':
    case 'aggregate':
      return aggregateOperator(step, key, path, expression, fail)
    case 'join':
      return joinOperator(step, at, expression, fail, sources)
  }
}

function wire(
  consumers: ReadonlyArray<readonly [StepNode | SinkNode, DocumentPath]>,
  nodes: Map<string, GraphNode>,
  fail: Fail,
): void {
  for (const [node, path] of consumers) {
    const parent = nodes.get(node.from)
    if (!parent || parent.kind === 'sink') {
      const candidates = [...nodes.values()].filter((n) => n.kind !== 'sink' && n.name !== node.name).map((n) => n.name)
      const hint = candidates.length > 0 ? `; did you mean "${closest(node.from, candidates)}"?` : ''
      const what = parent ? 'a sink, which has no output' : 'not a source or step'
      fail('DANGLING_FROM', `${node.kind} "${node.name}" reads from "${node.from}", which is ${what}${hint}`, [
        ...path,
        'from',
      ])
    }
    parent.children.push(node)
  }
}

function tracerSettings(sourceName: string, spec: TracerSourceSpec): TracerSettings {
  const [mode, address] = spec.socket
    ? (['http', spec.socket] as const)
    : spec.ndjsonFile
      ? (['file', spec.ndjsonFile] as const)
      : (['socket', spec.ndjsonSocket!] as const)
  return {
    mode,
    address,
    path: spec.path ?? '/connections',
    intervalMs: durationMs(spec.interval ?? '5s'),
    timeoutMs: durationMs(spec.timeout ?? '10s'),
    maxBackoffMs: durationMs(spec.maxBackoff ?? '30s'),
    node: spec.node || undefined,
    keepLoopback: spec.keepLoopback ?? false,
    store: spec.store ?? `${sourceName}-counters`,
    topicSettings: { partitions: spec.partitions, replicationFactor: spec.replicationFactor, config: spec.config },
  }
}

function kubernetesSettings(
  applicationId: string,
  sourceName: string,
  spec: KubernetesSourceSpec,
  env: NodeJS.ProcessEnv,
): KubernetesSettings {
  const node = spec.node || undefined
  const election = spec.leaderElection ?? node === undefined
  const lease =
    election === false
      ? undefined
      : {
          name: (typeof election === 'object' ? election.lease : undefined) ?? `${applicationId}-${sourceName}`,
          namespace:
            (typeof election === 'object' ? election.namespace : undefined) ?? (env.POD_NAMESPACE || 'default'),
          durationMs: durationMs((typeof election === 'object' ? election.duration : undefined) ?? '15s'),
        }
  const store = spec.store ?? `${sourceName}-landed`
  return {
    resource: spec.resource,
    namespaces: spec.namespaces ?? [],
    labelSelector: spec.labelSelector || undefined,
    node,
    kubeconfig: spec.kubeconfig || undefined,
    lease,
    store,
    // Per-node state stays on its node: one changelog for every node's pods would hand each node the others'.
    changelogTopic: node === undefined ? `${applicationId}-${store}-changelog` : undefined,
    maxBackoffMs: durationMs(spec.maxBackoff ?? '30s'),
    watchTimeoutSeconds: Math.max(1, Math.round(durationMs(spec.watchTimeout ?? '5m') / 1000)),
    idleTimeoutMs: durationMs(spec.idleTimeout ?? '2m'),
    topicSettings: { partitions: spec.partitions, replicationFactor: spec.replicationFactor, config: spec.config },
  }
}

/** A store belongs to one step: two writers would corrupt each other's state and changelog. */
function rejectSharedStores(sources: SourceNode[], steps: StepNode[], fail: Fail): void {
  const owners = new Map<string, string>()
  sources.forEach((source) => {
    if (source.table) owners.set(source.table.store, source.name)
  })
  steps.forEach((step, i) => {
    if (step.operator.type !== 'aggregate') return
    const owner = owners.get(step.operator.store)
    if (owner)
      fail(
        'STORE',
        `"${owner}" and "${step.name}" both use store "${step.operator.store}"; a store belongs to one step or table`,
        ['spec', 'steps', i, step.operator.kind],
      )
    owners.set(step.operator.store, step.name)
  })
}

function rejectCycles(steps: StepNode[], nodes: Map<string, GraphNode>, fail: Fail): void {
  steps.forEach((step, i) => {
    const seen = new Set<string>([step.name])
    let current: GraphNode | undefined = nodes.get(step.from)
    while (current && current.kind === 'step') {
      if (seen.has(current.name))
        fail('CYCLE', `step "${step.name}" is part of a cycle: ${[...seen].join(' → ')} → ${current.name}`, [
          'spec',
          'steps',
          i,
          'from',
        ])
      seen.add(current.name)
      current = nodes.get(current.from)
    }
  })
}

function withExpressionErrors<T>(compile: () => T, path: DocumentPath, fail: Fail): T {
  try {
    return compile()
  } catch (error) {
    if (!(error instanceof ExpressionSyntaxError)) throw error
    return fail('EXPRESSION', `invalid CEL in ${formatPath(path)}: ${error.summary}`, path, error.offset)
  }
}
