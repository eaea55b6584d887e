import dagreModule from '@dagrejs/dagre'
import type { TopologyView, ViewEdge, ViewNode } from '../../topology/describe.js'

/** A node of the topology page's graph, placed: its centre and size in SVG units. */
export interface PlacedNode extends ViewNode {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

export interface PlacedEdge extends ViewEdge {
  readonly points: ReadonlyArray<{ x: number; y: number }>
}

export interface TopologyLayout {
  readonly applicationId: string
  readonly deadLetterTopic: string
  readonly width: number
  readonly height: number
  readonly nodes: readonly PlacedNode[]
  readonly edges: readonly PlacedEdge[]
}

/**
 * The part of dagre this file uses. Its bundled declarations import their own files without
 * extensions, which NodeNext resolution cannot follow, so they arrive untyped.
 */
interface LayoutGraph {
  setGraph(label: Record<string, string | number>): void
  setDefaultEdgeLabel(label: () => object): void
  setNode(id: string, label: { width: number; height: number }): void
  setEdge(from: string, to: string, label: object, name: string): void
  graph(): { width?: number; height?: number }
  node(id: string): { x: number; y: number; width: number; height: number }
  edge(edge: { v: string; w: string; name: string }): { points?: Array<{ x: number; y: number }> }
}
const dagre = dagreModule as unknown as {
  graphlib: { Graph: new (options: { multigraph: boolean }) => LayoutGraph }
  layout(graph: LayoutGraph): void
}

const NODE_HEIGHT = 52
const CHAR_WIDTH = 7.5
const MIN_WIDTH = 140

/**
 * Places describe's graph left to right for the topology page (dagre's layered layout), once
 * per process: the page draws the boxes and arrows and only updates their figures.
 */
export function layoutTopology(view: TopologyView): TopologyLayout {
  const graph = new dagre.graphlib.Graph({ multigraph: true })
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 16, marginy: 16 })
  graph.setDefaultEdgeLabel(() => ({}))
  for (const node of view.nodes)
    graph.setNode(node.id, { width: Math.max(MIN_WIDTH, node.name.length * CHAR_WIDTH + 32), height: NODE_HEIGHT })
  view.edges.forEach((edge, i) => graph.setEdge(edge.from, edge.to, {}, String(i)))
  dagre.layout(graph)
  const { width = 0, height = 0 } = graph.graph()
  return {
    applicationId: view.applicationId,
    deadLetterTopic: view.deadLetterTopic,
    width,
    height,
    nodes: view.nodes.map((node) => {
      const { x, y, width: w, height: h } = graph.node(node.id)
      return { ...node, x, y, width: w, height: h }
    }),
    edges: view.edges.map((edge, i) => ({
      ...edge,
      points: graph.edge({ v: edge.from, w: edge.to, name: String(i) }).points ?? [],
    })),
  }
}
