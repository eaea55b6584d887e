import { describe, expect, it } from 'vitest'
import { layoutTopology } from '../../../runtime/console/topology-layout.js'
import { describeGraph } from '../../../topology/describe.js'
import { loadTopologyFile } from '../../../topology/load.js'

describe('layoutTopology', () => {
  for (const example of ['warning-counts', 'network-flows', 'events-fanout']) {
    it(`places every node of ${example} inside the drawing, none over another, edges from box to box`, () => {
      const view = describeGraph(loadTopologyFile(`examples/${example}.yaml`, {}))
      const layout = layoutTopology(view)
      expect(layout.nodes.map((n) => n.id)).toEqual(view.nodes.map((n) => n.id))
      for (const node of layout.nodes) {
        expect(node.x - node.width / 2).toBeGreaterThanOrEqual(0)
        expect(node.y - node.height / 2).toBeGreaterThanOrEqual(0)
        expect(node.x + node.width / 2).toBeLessThanOrEqual(layout.width)
        expect(node.y + node.height / 2).toBeLessThanOrEqual(layout.height)
        // Wide enough for its name at the page's font size.
        expect(node.width).toBeGreaterThanOrEqual(node.name.length * 7)
      }
      for (const a of layout.nodes)
        for (const b of layout.nodes) {
          if (a === b) continue
          const apart = Math.abs(a.x - b.x) * 2 >= a.width + b.width || Math.abs(a.y - b.y) * 2 >= a.height + b.height
          expect({ a: a.id, b: b.id, apart }).toEqual({ a: a.id, b: b.id, apart: true })
        }
      expect(layout.edges).toHaveLength(view.edges.length)
      for (const edge of layout.edges) expect(edge.points.length).toBeGreaterThanOrEqual(2)
    })
  }
})
