import { afterAll, describe, expect, it } from 'vitest'
import { aggregate } from '../../operators/aggregate.js'
import { harness, stepOperator } from '../support/operators.js'
import { record } from '../support/records.js'
import { tempStores } from '../support/stores.js'

const stores = tempStores()
afterAll(() => stores.close())

describe('aggregate (no window)', () => {
  it('counts per key, sends every update downstream, and buffers one change per key for the changelog', async () => {
    const { context, run } = harness()
    const store = stores.keyValue('count')
    const out = await run(
      aggregate(context, stepOperator('count: {}'), store),
      [record({}, { key: 'a' }), record({}, { key: 'b' }), record({}, { key: 'a' })],
      [record({}, { key: 'a' })],
    )
    expect(out.map((r) => [r.key, r.value])).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['a', 3],
    ])
    expect(stores.pending('count').map((c) => [c.key.toString(), c.value?.toString()])).toEqual([
      ['a', '3'],
      ['b', '1'],
    ])
    stores.commit()
    expect(store.get('a')).toBe(3)
  })

  it('reduces with CEL over aggregate and value, starting from the first value', async () => {
    const { context, run } = harness()
    const operator = stepOperator('reduce: { reducer: \'{"bytes": aggregate.bytes + value.bytes, "last": value.at}\' }')
    const out = await run(aggregate(context, operator, stores.keyValue('reduce')), [
      record({ bytes: 10, at: 'x' }, { key: 'k' }),
      record({ bytes: 5, at: 'y' }, { key: 'k' }),
    ])
    expect(out.map((r) => r.value)).toEqual([
      { bytes: 10, at: 'x' },
      { bytes: 15, last: 'y' },
    ])
  })

  it('aggregates from an initializer and an adder, which also sees the key', async () => {
    const { context, run } = harness()
    const operator = stepOperator(
      'aggregate: { initializer: \'{"n": 0, "keys": []}\', adder: \'{"n": aggregate.n + 1.0, "keys": ' +
        "aggregate.keys + [key]}' }",
    )
    const out = await run(aggregate(context, operator, stores.keyValue('agg')), [
      record({}, { key: 'k' }),
      record({}, { key: 'k' }),
    ])
    expect(out.map((r) => r.value)).toEqual([
      { n: 1, keys: ['k'] },
      { n: 2, keys: ['k', 'k'] },
    ])
  })

  it('dead-letters a record without a key, or one whose adder fails, and goes on', async () => {
    const { context, run, dead } = harness()
    const operator = stepOperator("aggregate: { initializer: '0.0', adder: 'aggregate + value.n' }")
    const out = await run(aggregate(context, operator, stores.keyValue('bad')), [
      record({ n: 1 }, { key: null }),
      record({ x: 1 }, { key: 'k' }),
      record({ n: 2 }, { key: 'k' }),
    ])
    expect(out.map((r) => r.value)).toEqual([2])
    expect(dead.map((d) => d.error.code)).toEqual(['NULL_KEY', 'EXPRESSION'])
  })
})
