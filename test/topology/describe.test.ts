import { describe, expect, it } from 'vitest'
import { describeGraph } from '../../topology/describe.js'
import { loadTopologyFile } from '../../topology/load.js'

const edgesOf = (file: string) =>
  describeGraph(loadTopologyFile(file, {})).edges.map(({ from, to, kind }) => `${from} -${kind}-> ${to}`)

describe('describeGraph', () => {
  it('gives every source, step, repartition topic, store and sink a node, in its sub-topology', () => {
    const view = describeGraph(loadTopologyFile('examples/warning-counts.yaml', {}))
    expect(view.nodes.map(({ id, subTopology }) => [id, subTopology])).toEqual([
      ['source:cluster-events', 0],
      ['step:drop-resyncs', 0],
      ['step:warnings', 0],
      ['step:by-reason', 0],
      ['repartition:warning-counts-per-minute-repartition', 1],
      ['step:per-minute', 1],
      ['store:by-minute', 1],
      ['sink:warning-counts', 1],
    ])
    expect(view.nodes.find((n) => n.id === 'store:by-minute')?.detail).toBe(
      'store by-minute (window, changelog warning-counts-by-minute-changelog)',
    )
    expect(edgesOf('examples/warning-counts.yaml')).toEqual([
      'source:cluster-events -records-> step:drop-resyncs',
      'step:drop-resyncs -records-> step:warnings',
      'step:warnings -records-> step:by-reason',
      'step:by-reason -records-> repartition:warning-counts-per-minute-repartition',
      'repartition:warning-counts-per-minute-repartition -records-> step:per-minute',
      'step:per-minute -store-> store:by-minute',
      'step:per-minute -records-> sink:warning-counts',
    ])
  })

  it('draws global tables apart, with the joins that look them up', () => {
    const view = describeGraph(loadTopologyFile('examples/network-flows.yaml', {}))
    expect(view.nodes.filter((n) => n.kind === 'table').map((n) => [n.id, n.subTopology])).toEqual([
      ['source:pods-by-ip', undefined],
      ['source:services-by-ip', undefined],
    ])
    expect(edgesOf('examples/network-flows.yaml').filter((edge) => edge.includes('-lookup->'))).toEqual([
      'source:pods-by-ip -lookup-> step:source-pod',
      'source:pods-by-ip -lookup-> step:dest-pod',
      'source:services-by-ip -lookup-> step:dest-service',
    ])
  })
})
