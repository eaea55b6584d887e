import { afterAll, describe, expect, it } from 'vitest'
import type { StreamRecord } from '../../core/record.js'
import { type WindowedResult, windowedAggregate } from '../../operators/windowed-aggregate.js'
import type { AggregateOperator } from '../../topology/graph.js'
import { harness, stepOperator } from '../support/operators.js'
import { record } from '../support/records.js'
import { tempStores } from '../support/stores.js'

const S = 1_000
const at = (seconds: number, key = 'a'): StreamRecord => ({
  ...record({ t: seconds }, { key }),
  timestamp: seconds * S,
})
const stores = tempStores()
afterAll(() => stores.close())
let storeCount = 0

function setup(step: string) {
  const operator: AggregateOperator = stepOperator(step)
  if (operator.window?.type !== 'hopping') throw new Error('needs a time window')
  const name = `w${storeCount++}`
  const counters = { lateRecords: 0 }
  const make = () =>
    windowedAggregate(
      harness().context,
      operator,
      operator.window as Extract<AggregateOperator['window'], { type: 'hopping' }>,
      stores.window(name),
      counters,
    )
  return { counters, make, store: stores.window(name), name }
}

const results = (out: StreamRecord[]) =>
  out.map((r) => {
    const v = r.value as WindowedResult
    return `${r.key}=${v.value} [${v.windowStart / S}s,${v.windowEnd / S}s)`
  })

describe('windowedAggregate', () => {
  it('counts in tumbling windows on stream time, accepts late records within grace and drops later ones', async () => {
    const { make, counters } = setup('count: { window: { tumbling: 1m, grace: 10s } }')
    const out = await harness().run(make(), [at(0), at(30), at(65)], [at(5), at(75), at(20)])
    expect(results(out)).toEqual([
      'a@0=1 [0s,60s)',
      'a@0=2 [0s,60s)',
      'a@60000=1 [60s,120s)',
      'a@0=3 [0s,60s)',
      'a@60000=2 [60s,120s)',
    ])
    expect(counters.lateRecords).toBe(1)
  })

  it('puts a record in every hopping window that holds it', async () => {
    const { make } = setup('count: { window: { hopping: 1m, advance: 30s } }')
    const out = await harness().run(make(), [at(45, 'k'), at(70, 'k')])
    expect(results(out)).toEqual([
      'k@0=1 [0s,60s)',
      'k@30000=1 [30s,90s)',
      'k@30000=2 [30s,90s)',
      'k@60000=1 [60s,120s)',
    ])
  })

  it('emits each window once when it closes, and never again after a restart', async () => {
    const { make } = setup('count: { window: { tumbling: 1m, grace: 10s }, emit: onWindowClose }')
    const { run } = harness()
    expect(results(await run(make(), [at(1, 'x'), at(2, 'y'), at(50, 'x'), at(65, 'x')]))).toEqual([])
    expect(results(await run(make(), [at(69, 'y')]))).toEqual([])
    // Stream time 70 s closes [0, 60) (end 60 s + grace 10 s); a new operator over the same store resumes.
    stores.commit()
    const closed = await run(make(), [at(70, 'z')])
    expect(results(closed)).toEqual(['x@0=2 [0s,60s)', 'y@0=1 [0s,60s)'])
    // Timestamped in their own window (its last millisecond), not at the record that closed it: a windowed step below
    // counts them there.
    expect(closed.map((r) => r.timestamp)).toEqual([60 * S - 1, 60 * S - 1])
    expect(results(await run(make(), [at(100, 'z'), at(131, 'z')]))).toEqual([
      'x@60000=1 [60s,120s)',
      'y@60000=1 [60s,120s)',
      'z@60000=2 [60s,120s)',
    ])
  })

  it('expires windows past retention, with tombstones for the changelog', async () => {
    const { make, store, name } = setup('count: { window: { tumbling: 1m, retention: 2m } }')
    const { run } = harness()
    await run(make(), [at(10), at(70)])
    stores.commit()
    expect(store.get('a', 0)).toBe(1)
    await run(make(), [at(119)])
    expect(store.get('a', 0)).toBe(1)
    await run(make(), [at(120)])
    expect(store.get('a', 0)).toBeUndefined()
    expect(store.get('a', 60 * S)).toBe(2)
    expect(stores.pending(name).some((change) => change.value === null)).toBe(true)
  })
})
