import { lastValueFrom, of, toArray, type OperatorFunction } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { serdes } from '../../connectors/serde/serde.js'
import type { RecordError } from '../../core/record-error.js'
import type { RecordBatch, StreamRecord } from '../../core/record.js'
import { compileExpression } from '../../expression/expression.js'
import { compileTemplate } from '../../expression/template.js'
import { filter } from '../../operators/filter.js'
import { flatMap } from '../../operators/flat-map.js'
import { headers } from '../../operators/headers.js'
import { keyBy } from '../../operators/key-by.js'
import { map } from '../../operators/map.js'
import type { StepContext } from '../../operators/record-operator.js'
import { to } from '../../operators/to.js'
import { MemoryCollector } from '../support/memory-collector.js'
import { record } from '../support/records.js'

function harness() {
  const dead: Array<{ record: StreamRecord; error: RecordError; step: string }> = []
  const context: StepContext = {
    step: 'under-test',
    deadLetter: (r, error, step) => dead.push({ record: r, error, step }),
  }
  const run = async (operator: OperatorFunction<RecordBatch, RecordBatch>, batch: RecordBatch) =>
    (await lastValueFrom(of(batch).pipe(operator, toArray()))).flat()
  return { dead, context, run }
}

const cel = compileExpression

describe('filter', () => {
  it('keeps records whose predicate is true and dead-letters non-bool results', async () => {
    const { context, run, dead } = harness()
    const out = await run(filter(context, cel('value.n > 1.0')), [record({ n: 1 }), record({ n: 2 }), record({ x: 1 })])
    expect(out.map((r) => r.value)).toEqual([{ n: 2 }])
    expect(dead).toHaveLength(1)
    expect(dead[0].error.code).toBe('EXPRESSION')
    expect(dead[0].step).toBe('under-test')
    const typed = harness()
    await typed.run(filter(typed.context, cel('value.n')), [record({ n: 'yes' })])
    expect(typed.dead[0].error.code).toBe('EXPRESSION_TYPE')
  })

  it('passes no empty batch downstream', async () => {
    const { context, run } = harness()
    expect(await run(filter(context, cel('false')), [record({})])).toEqual([])
  })
})

describe('map', () => {
  it('projects the value with CEL, dropping the original bytes, keeping key and headers', async () => {
    const { context, run } = harness()
    const [out] = await run(map(context, cel('{"ns": value.event.metadata.namespace, "count": 3}')), [
      record({ event: { metadata: { namespace: 'shop' } } }, { key: 'k', headers: { a: 'b' } }),
    ])
    expect(out.value).toEqual({ ns: 'shop', count: 3 })
    expect(out.encodedValue).toBeUndefined()
    expect(out.key).toBe('k')
    expect(out.headers).toEqual({ a: 'b' })
  })
})

describe('flatMap', () => {
  it('emits one record per list element and dead-letters non-lists', async () => {
    const { context, run, dead } = harness()
    const out = await run(flatMap(context, cel('value.items')), [
      record({ items: [1, 2, 3] }),
      record({ items: [] }),
      record({ items: 'no' }),
    ])
    expect(out.map((r) => r.value)).toEqual([1, 2, 3])
    expect(dead.map((d) => d.error.code)).toEqual(['EXPRESSION_TYPE'])
  })
})

describe('keyBy', () => {
  it('re-keys without touching the value bytes, and rejects null keys', async () => {
    const { context, run, dead } = harness()
    const input = record({ event: { metadata: { uid: 'u-1' } } })
    const [out] = await run(keyBy(context, cel('value.event.metadata.uid')), [
      input,
      record({ event: { metadata: { uid: null } } }),
    ])
    expect(out.key).toBe('u-1')
    expect(out.encodedValue).toBe(input.encodedValue)
    expect(input.key).toBeNull() // the input record is not mutated
    expect(dead).toHaveLength(1)
  })
})

describe('headers', () => {
  it('sets headers from expressions and removes those that evaluate to null', async () => {
    const { context, run } = harness()
    const [out] = await run(
      headers(context, [
        ['verb', cel('value.verb')],
        ['count', cel('value.count')],
        ['gone', cel('null')],
      ]),
      [record({ verb: 'ADDED', count: 2 }, { headers: { gone: 'x', keep: 'y' } })],
    )
    expect(out.headers).toEqual({ verb: 'ADDED', count: '2', keep: 'y' })
  })
})

describe('to', () => {
  it('renders the topic per record, sanitizes it, reuses value bytes and sends key and headers', async () => {
    const { context, run, dead } = harness()
    const collector = new MemoryCollector()
    const sink = to(context, {
      topic: compileTemplate('events.${value.ns}'),
      serde: serdes.json,
      topicSpec: { partitions: 3 },
      collector,
    })
    const first = record({ ns: 'shop' }, { key: 'k1', headers: { verb: 'ADDED' } })
    await run(sink, [first, record({ ns: 'we/ird ns' }), record({ other: 1 })])
    expect(collector.sent.map((s) => s.record.topic)).toEqual(['events.shop', 'events.we_ird_ns'])
    expect(collector.sent[0].record.value).toBe(first.encodedValue)
    expect(collector.sent[0].record.key).toBe('k1')
    expect(collector.sent[0].record.headers).toEqual([{ verb: 'ADDED' }])
    expect(collector.sent[0].topicSpec).toEqual({ partitions: 3 })
    expect(dead.map((d) => d.error.code)).toEqual(['EXPRESSION'])
  })

  it('encodes changed values with the sink format', async () => {
    const { context, run } = harness()
    const collector = new MemoryCollector()
    const sink = to(context, { topic: compileTemplate('out'), serde: serdes.json, topicSpec: {}, collector })
    const changed = { ...record({ a: 1 }), value: { b: 2 }, encodedValue: undefined }
    await run(sink, [changed])
    expect(collector.sent[0].record.value?.toString()).toBe('{"b":2}')
  })
})
