import { fieldPathsOf } from '../expression/value-reads.js'
import { type CompiledTopology, compileTopology, type RepartitionDefinition } from './compile.js'
import { formatDuration } from './duration.js'
import type {
  AggregateOperator,
  GraphNode,
  KubernetesSettings,
  SourceNode,
  StepNode,
  StepOperator,
  TopologyGraph,
  TracerSettings,
} from './graph.js'
import { sourceFieldTree } from './source-fields.js'

/** A text tree like Kafka Streams' Topology#describe(): sub-topologies, each node with its arrows. */
export function describeText(graph: TopologyGraph): string {
  const compiled = compileTopology(graph)
  const lines = [`Topology: ${graph.applicationId}`, `  Dead-letter topic: ${graph.deadLetter.topic}`]
  for (const sub of compiled.subTopologies) {
    lines.push(`  Sub-topology: ${sub.id}`)
    for (const { source, repartition } of sub.inputs) {
      for (const { node, cut } of walk(source, compiled, repartition)) {
        if (cut) {
          lines.push(
            `    Sink: ${cut.topic} (repartition, read by sub-topology ${subTopologyReading(compiled, cut.topic)})`,
            `      <-- ${(node as StepNode).from}`,
          )
          continue
        }
        lines.push(`    ${headline(node)}`)
        if (node.kind === 'source' && node.format === 'json' && !node.table)
          lines.push(`      decodes: ${decodedFields(node)}`)
        if (node.kind === 'step' && node.operator.type === 'aggregate')
          lines.push(
            `      store: ${node.operator.store} (changelog: ${sub.stores.get(node.operator.store)!.changelogTopic})`,
          )
        const children = node.children.map((child) => {
          const through = compiled.repartitionBefore.get(child.name)
          return through && through !== repartition ? through.topic : child.name
        })
        if (children.length > 0) lines.push(`      --> ${children.join(', ')}`)
        if (node.kind !== 'source')
          lines.push(`      <-- ${repartition?.step === node.name ? repartition.topic : node.from}`)
      }
    }
  }
  for (const table of compiled.globalTables) {
    lines.push(`  ${headline(table.source)}`, '    read whole by every replica; its topic is its changelog')
  }
  // Sources that only land their records (nothing in this topology reads them back).
  for (const source of graph.sources) {
    if ((source.tracer || source.kubernetes) && source.children.length === 0) lines.push(`  ${headline(source)}`)
  }
  return lines.join('\n') + '\n'
}

/** The same graph as a Mermaid flowchart, for READMEs and the topology page. */
export function describeMermaid(graph: TopologyGraph): string {
  const compiled = compileTopology(graph)
  const id = (name: string) => `n_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`
  const label = (text: string) => text.replace(/"/g, '#quot;')
  const lines = ['flowchart LR']
  const edges: string[] = []
  for (const sub of compiled.subTopologies) {
    lines.push(`  subgraph sub${sub.id}["Sub-topology ${sub.id}"]`)
    for (const { source, repartition } of sub.inputs) {
      for (const { node, cut } of walk(source, compiled, repartition)) {
        if (cut) continue
        const text = label(headline(node))
        if (node.kind === 'source') lines.push(`    ${id(node.name)}[("${text}")]`)
        else if (node.kind === 'sink') lines.push(`    ${id(node.name)}[/"${text}"/]`)
        else lines.push(`    ${id(node.name)}["${text}"]`)
        for (const child of node.children) {
          const through = compiled.repartitionBefore.get(child.name)
          edges.push(
            through && through !== repartition
              ? `  ${id(node.name)} --> ${id(through.topic)}`
              : `  ${id(node.name)} --> ${id(child.name)}`,
          )
        }
      }
    }
    lines.push('  end')
  }
  for (const table of compiled.globalTables)
    lines.push(`  ${id(table.source.name)}[("${label(headline(table.source))}")]`)
  return [...lines, ...edges].join('\n') + '\n'
}

/** The topology as nodes and edges, as `describe` knows it: what the live topology page draws. */
export interface TopologyView {
  readonly applicationId: string
  readonly deadLetterTopic: string
  readonly nodes: readonly ViewNode[]
  readonly edges: readonly ViewEdge[]
}

export interface ViewNode {
  /** `<kind>:<name>`, unique in the view. */
  readonly id: string
  readonly kind: 'source' | 'table' | 'step' | 'repartition' | 'store' | 'sink'
  /** The name in the topology (a repartition node's is its topic). */
  readonly name: string
  /** describe's line for it. */
  readonly detail: string
  /** The sub-topology it runs in (a repartition topic: the one that reads it); none for global tables. */
  readonly subTopology?: number
  /** The Kafka topic it reads or writes (a sink's may be a template). */
  readonly topic?: string
}

/** records: records flow; store: a step keeps its state there; lookup: a join reads a table. */
export interface ViewEdge {
  readonly from: string
  readonly to: string
  readonly kind: 'records' | 'store' | 'lookup'
}

/** The graph of describeText as data: sources, steps, repartition topics, stores, sinks and their edges. */
export function describeGraph(graph: TopologyGraph): TopologyView {
  const compiled = compileTopology(graph)
  const nodes = new Map<string, ViewNode>()
  const edges: ViewEdge[] = []
  const add = (node: ViewNode) => nodes.set(node.id, node)
  const idOf = (node: GraphNode) => `${node.kind}:${node.name}`
  for (const sub of compiled.subTopologies) {
    for (const { source, repartition } of sub.inputs) {
      for (const { node, cut } of walk(source, compiled, repartition)) {
        if (cut) continue
        const id = node === source && repartition ? `repartition:${repartition.topic}` : idOf(node)
        const subTopology = sub.id
        if (node === source && repartition) {
          const { topic } = repartition
          add({ id, kind: 'repartition', name: topic, detail: `repartition topic ${topic}`, subTopology, topic })
        } else if (node.kind === 'source') {
          add({ id, kind: 'source', name: node.name, detail: headline(node), subTopology, topic: node.topic })
        } else if (node.kind === 'sink') {
          add({ id, kind: 'sink', name: node.name, detail: headline(node), subTopology, topic: node.topic.source })
        } else {
          add({ id, kind: 'step', name: node.name, detail: operatorText(node.operator), subTopology })
          const { operator } = node
          if (operator.type === 'aggregate') {
            const store = sub.stores.get(operator.store)!
            const detail = `store ${store.name} (${store.type}, changelog ${store.changelogTopic})`
            add({ id: `store:${store.name}`, kind: 'store', name: store.name, detail, subTopology })
            edges.push({ from: id, to: `store:${store.name}`, kind: 'store' })
          }
          if (operator.type === 'join') edges.push({ from: `source:${operator.table}`, to: id, kind: 'lookup' })
        }
        for (const child of node.children) {
          const through = compiled.repartitionBefore.get(child.name)
          const to = through && through !== repartition ? `repartition:${through.topic}` : idOf(child)
          edges.push({ from: id, to, kind: 'records' })
        }
      }
    }
  }
  for (const { source } of compiled.globalTables)
    add({ id: idOf(source), kind: 'table', name: source.name, detail: headline(source), topic: source.topic })
  return {
    applicationId: graph.applicationId,
    deadLetterTopic: graph.deadLetter.topic,
    nodes: [...nodes.values()],
    edges: edges.filter((edge) => nodes.has(edge.from) && nodes.has(edge.to)),
  }
}

interface Visit {
  readonly node: GraphNode
  /** Set where the edge into `node` is a repartition topic: the walk stops there. */
  readonly cut?: RepartitionDefinition
}

/** The nodes one input of a sub-topology reaches, stopping at repartition topics other than its own. */
function* walk(node: GraphNode, compiled: CompiledTopology, own: RepartitionDefinition | undefined): Generator<Visit> {
  yield { node }
  for (const child of node.children) {
    const cut = compiled.repartitionBefore.get(child.name)
    if (cut && cut !== own) yield { node: child, cut }
    else yield* walk(child, compiled, own)
  }
}

function subTopologyReading(compiled: CompiledTopology, topic: string): number {
  return compiled.subTopologies.find((sub) => sub.inputs.some((input) => input.source.topic === topic))!.id
}

function tracerText(tracer: TracerSettings): string {
  const reads =
    tracer.mode === 'http'
      ? `GET ${tracer.path} on ${tracer.address} every ${formatDuration(tracer.intervalMs)}`
      : `NDJSON ${tracer.mode} ${tracer.address}`
  return `tracer ${reads}, counters in store ${tracer.store}`
}

function kubernetesText(kubernetes: KubernetesSettings): string {
  const where = [
    kubernetes.namespaces.length ? ` in ${kubernetes.namespaces.join(', ')}` : '',
    kubernetes.node ? ` on node ${kubernetes.node}` : '',
    kubernetes.lease ? `, leader by lease ${kubernetes.lease.namespace}/${kubernetes.lease.name}` : '',
  ]
  return `Kubernetes ${kubernetes.resource} list+watch${where.join('')}, landed versions in store ${kubernetes.store}`
}

function headline(node: GraphNode): string {
  switch (node.kind) {
    case 'source':
      if (node.tracer) return `Source: ${node.name} (${tracerText(node.tracer)}; lands in topic: ${node.topic})`
      if (node.kubernetes)
        return `Source: ${node.name} (${kubernetesText(node.kubernetes)}; lands in topic: ${node.topic})`
      return (
        `${node.table ? (node.table.global ? 'Global table' : 'Table') : 'Source'}: ${node.name} (topic: ` +
        `${node.topic}, format: ${node.format}${node.table ? `, store: ${node.table.store}` : ''})`
      )
    case 'step':
      return `Processor: ${node.name} (${operatorText(node.operator)})`
    case 'sink':
      return `Sink: ${node.name} (topic: ${node.topic.source})`
  }
}

/** What the projecting JSON decoder builds of each value (see connectors/serde/json-projection.ts). */
function decodedFields(source: SourceNode): string {
  const tree = sourceFieldTree(source)
  if (!tree) return 'the whole value'
  return tree.size === 0 ? 'nothing (the value is only checked to be JSON)' : fieldPathsOf(tree).join(', ')
}

function operatorText(operator: StepOperator): string {
  switch (operator.type) {
    case 'filter':
      return `filter: ${oneLine(operator.predicate.source)}`
    case 'map':
      return `map: ${oneLine(operator.projection.source)}`
    case 'flatMap':
      return `flatMap: ${oneLine(operator.projection.source)}`
    case 'keyBy':
      return `keyBy: ${oneLine(operator.selector.source)}`
    case 'headers':
      return `headers: ${operator.headers.map(([name]) => name).join(', ')}`
    case 'aggregate':
      return aggregationText(operator)
    case 'join':
      return (
        `${operator.joinType} join ${operator.global ? 'global ' : ''}table ` +
        `${operator.table}${operator.key ? ` on ${oneLine(operator.key.source)}` : ''}`
      )
  }
}

function aggregationText(operator: AggregateOperator): string {
  const parts = [`${operator.kind}`, `store: ${operator.store}`]
  const { window } = operator
  if (window?.type === 'hopping') {
    parts.push(
      window.advance === window.size
        ? `tumbling ${formatDuration(window.size)}`
        : `hopping ${formatDuration(window.size)} every ${formatDuration(window.advance)}`,
    )
  }
  if (window?.type === 'session') parts.push(`session gap ${formatDuration(window.gap)}`)
  if (window) parts.push(`grace ${formatDuration(window.grace)}`, `emit ${operator.emit}`)
  return parts.join(', ')
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
