import { formatDuration } from './duration.js'
import type { AggregateOperator, GraphNode, SinkNode, SourceNode, StepNode, StepOperator, TopologyGraph } from './graph.js'
import { fieldPathsOf, sourceFieldTree } from './value-reads.js'

/** A text tree like Kafka Streams' Topology#describe(): sub-topologies, each node with its arrows. */
export function describeText(graph: TopologyGraph): string {
  const lines = [`Topology: ${graph.applicationId}`, `  Dead-letter topic: ${graph.deadLetter.topic}`]
  graph.sources.forEach((source, id) => {
    lines.push(`  Sub-topology: ${id}`)
    for (const node of walk(source)) {
      lines.push(`    ${headline(node)}`)
      if (node.kind === 'source' && node.format === 'json') lines.push(`      decodes: ${decodedFields(node)}`)
      if (node.children.length > 0) lines.push(`      --> ${node.children.map((c) => c.name).join(', ')}`)
      if (node.kind !== 'source') lines.push(`      <-- ${node.from}`)
    }
  })
  return lines.join('\n') + '\n'
}

/** The same graph as a Mermaid flowchart, for READMEs and the topology page. */
export function describeMermaid(graph: TopologyGraph): string {
  const id = (name: string) => `n_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`
  const label = (text: string) => text.replace(/"/g, '#quot;')
  const lines = ['flowchart LR']
  graph.sources.forEach((source, index) => {
    lines.push(`  subgraph sub${index}["Sub-topology ${index}"]`)
    for (const node of walk(source)) {
      const text = label(headline(node))
      lines.push(node.kind === 'source' ? `    ${id(node.name)}[("${text}")]` : node.kind === 'sink' ? `    ${id(node.name)}[/"${text}"/]` : `    ${id(node.name)}["${text}"]`)
    }
    lines.push('  end')
    for (const node of walk(source)) for (const child of node.children) lines.push(`  ${id(node.name)} --> ${id(child.name)}`)
  })
  return lines.join('\n') + '\n'
}

function* walk(node: GraphNode): Generator<GraphNode> {
  yield node
  for (const child of node.children) yield* walk(child)
}

function headline(node: GraphNode): string {
  switch (node.kind) {
    case 'source': return `Source: ${node.name} (topic: ${node.topic}, format: ${node.format})`
    case 'step': return `Processor: ${node.name} (${operatorText((node as StepNode).operator)})`
    case 'sink': return `Sink: ${node.name} (topic: ${(node as SinkNode).topic.source})`
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
    case 'filter': return `filter: ${oneLine(operator.predicate.source)}`
    case 'map': return `map: ${oneLine(operator.projection.source)}`
    case 'flatMap': return `flatMap: ${oneLine(operator.projection.source)}`
    case 'keyBy': return `keyBy: ${oneLine(operator.selector.source)}`
    case 'headers': return `headers: ${operator.headers.map(([name]) => name).join(', ')}`
    case 'aggregate': return aggregationText(operator)
  }
}

function aggregationText(operator: AggregateOperator): string {
  const parts = [`${operator.kind}`, `store: ${operator.store}`]
  const { window } = operator
  if (window?.type === 'hopping') {
    parts.push(window.advance === window.size ? `tumbling ${formatDuration(window.size)}` : `hopping ${formatDuration(window.size)} every ${formatDuration(window.advance)}`)
  }
  if (window?.type === 'session') parts.push(`session gap ${formatDuration(window.gap)}`)
  if (window) parts.push(`grace ${formatDuration(window.grace)}`, `emit ${operator.emit}`)
  return parts.join(', ')
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
