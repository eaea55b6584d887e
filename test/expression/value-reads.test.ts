import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compileExpression } from '../../expression/expression.js'
import { compileTemplate } from '../../expression/template.js'
import { fieldPathsOf, fieldTreeOf, type ValueRead, valueReadsOf } from '../../expression/value-reads.js'
import { compileTopology } from '../../topology/compile.js'
import { describeText } from '../../topology/describe.js'
import { loadTopology, loadTopologyFile } from '../../topology/load.js'

const reads = (source: string) => compileExpression(source).valueReads
const whole = (...paths: string[][]): ValueRead[] => paths.map((path) => ({ path }))

describe('valueReadsOf', () => {
  it.each([
    ['value.a.b == "x"', whole(['a', 'b'])],
    ['size(value.items) > 0', whole(['items'])],
    ['value.items.all(i, i.x > 0.0)', whole(['items'])],
    ['{"n": value.event.metadata.namespace, "e": value.event}', whole(['event', 'metadata', 'namespace'], ['event'])],
    ['key == "k" && headers["h"] == "v"', []],
    ['value["event"].type', whole([])],
    ['dyn(value).q', whole([])],
    ['value', whole([])],
  ])('%s reads %j', (source, expected) => {
    expect(reads(source)).toEqual(expected)
  })

  it('reads only the presence of a field under has()', () => {
    expect(reads('has(value.a.b) ? value.c : null')).toEqual([
      { path: ['a', 'b'], presenceOnly: true },
      { path: ['c'] },
    ])
  })

  it('collects every part of a template', () => {
    expect(compileTemplate('events.${value.a}.${value.b.c}').valueReads).toEqual(whole(['a'], ['b', 'c']))
    expect(compileTemplate('static').valueReads).toEqual([])
  })

  it('ignores what is not a CEL node', () => {
    expect(valueReadsOf(null)).toEqual([])
  })
})

describe('fieldTreeOf', () => {
  it('merges paths, a field read whole covering every path below it', () => {
    const tree = fieldTreeOf(whole(['a', 'b'], ['a', 'c', 'd'], ['e'], ['a', 'c'], ['a', 'c', 'x'], ['e', 'f']))
    expect(tree).toEqual(
      new Map<string, unknown>([
        [
          'a',
          new Map<string, unknown>([
            ['b', true],
            ['c', true],
          ]),
        ],
        ['e', true],
      ]),
    )
  })

  it('keeps a field tested for presence with none of its own, unless more of it is read', () => {
    const tree = fieldTreeOf([
      { path: ['a'], presenceOnly: true },
      { path: ['b'], presenceOnly: true },
      { path: ['b', 'c'] },
      { path: ['d'] },
      { path: ['d'], presenceOnly: true },
    ])
    expect(tree).toEqual(
      new Map<string, unknown>([
        ['a', new Map()],
        ['b', new Map([['c', true]])],
        ['d', true],
      ]),
    )
  })

  it('is undefined when the value itself is read', () => {
    expect(fieldTreeOf(whole(['a'], []))).toBeUndefined()
  })

  it('reads back as dotted paths, presence tests marked', () => {
    const tree = fieldTreeOf([{ path: ['a', 'b'] }, { path: ['a', 'c'], presenceOnly: true }, { path: ['d'] }])!
    expect(fieldPathsOf(tree)).toEqual(['a.b', 'a.c?', 'd'])
  })
})

describe('the source value a sub-topology decodes', () => {
  const sample = Buffer.from(readFileSync(new URL('../fixtures/eventrouter-envelope.json', import.meta.url), 'utf8'))

  it('keeps exactly the fields events-fanout reads', () => {
    const [sub] = compileTopology(loadTopologyFile('examples/events-fanout.yaml', {})).subTopologies
    expect(sub.inputs[0].valueSerde.decode(sample)).toEqual({
      verb: 'UPDATED',
      event: {
        metadata: { uid: '3c1f8e2a-5b7d-4c9e-a1f0-2d6b8e9c7a41', namespace: 'shop', resourceVersion: '884213' },
        type: 'Warning',
        reason: 'BackOff',
      },
      old_event: { metadata: { resourceVersion: '884101' } },
    })
  })

  const topology = (steps: string) => `
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: t }
spec:
  sources: [{ name: in, kafka: { topic: in } }]
  steps:
${steps}
  sinks: [{ name: out, from: last, kafka: { topic: "out.\${value.sink}" } }]
`

  it('stops at a map, whose output is a new value, and reads the sink template of the value it gets', () => {
    const graph = loadTopology(
      topology(`
    - { name: first, from: in, filter: 'value.verb == "ADDED"' }
    - { name: last, from: first, map: '{"sink": value.event.reason}' }`),
      't.yaml',
      {},
    )
    expect(compileTopology(graph).subTopologies[0].inputs[0].valueSerde.decode(sample)).toEqual({
      verb: 'UPDATED',
      event: { reason: 'BackOff' },
    })
  })

  it('decodes everything when a step reads the value whole', () => {
    const graph = loadTopology(
      topology(`
    - { name: last, from: in, filter: 'size(value) > 0' }`),
      't.yaml',
      {},
    )
    expect(compileTopology(graph).subTopologies[0].inputs[0].valueSerde.decode(sample)).toEqual(
      JSON.parse(sample.toString()),
    )
    expect(describeText(graph)).toContain('decodes: the whole value')
  })

  it('says in describe what it decodes', () => {
    expect(describeText(loadTopologyFile('examples/events-fanout.yaml', {}))).toContain(
      'decodes: verb, old_event.metadata.resourceVersion, event.metadata.resourceVersion, event.metadata.uid, ' +
        'event.metadata.namespace, event.type, event.reason',
    )
  })
})
