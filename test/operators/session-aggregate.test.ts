import { afterAll, describe, expect, it } from 'vitest'
import type { StreamRecord } from '../../core/record.js'
import { sessionAggregate } from '../../operators/session-aggregate.js'
import type { WindowedResult } from '../../operators/windowed-aggregate.js'
import type { AggregateOperator } from '../../topology/graph.js'
import { harness, stepOperator } from '../support/operators.js'
import { record } from '../support/records.js'
import { tempStores } from '../support/stores.js'

const S = 1_000
const at = (seconds: number, value: unknown = {}, key = 'a'): StreamRecord => ({
  ...record(value, { key }),
  timestamp: seconds * S,
})
const stores = tempStores()
afterAll(() => stores.close())
let storeCount = 0

function setup(step: string) {
  const operator: AggregateOperator = stepOperator(step)
  if (operator.window?.type !== 'session') throw new Error('needs a session window')
  const name = `s${storeCount++}`
  const counters = { lateRecords: 0 }
  const make = () =>
    sessionAggregate(
      harness().context,
      operator,
      operator.window as Extract<AggregateOperator['window'], { type: 'session' }>,
      stores.session(name),
      counters,
    )
  return { counters, make }
}

const results = (out: StreamRecord[]) =>
  out.map((r) => {
    if (r.value === null) return `${r.key} gone`
    const v = r.value as WindowedResult
    return `${r.key}=${JSON.stringify(v.value)} [${v.windowStart / S}s,${v.windowEnd / S}s]`
  })

describe('sessionAggregate', () => {
  it('grows, merges and tombstones sessions as records bridge them', async () => {
    const { make } = setup('count: { window: { session: 10s, grace: 1m } }')
    const { run } = harness()
    expect(results(await run(make(), [at(0), at(5), at(30)]))).toEqual([
      'a@0=1 [0s,0s]',
      'a@0=2 [0s,5s]',
      'a@30000=1 [30s,30s]',
    ])
    expect(results(await run(make(), [at(20)]))).toEqual(['a@30000 gone', 'a@20000=2 [20s,30s]'])
    expect(results(await run(make(), [at(12)]))).toEqual(['a@20000 gone', 'a@0=5 [0s,30s]'])
  })

  it('drops records older than stream time minus grace', async () => {
    const { make, counters } = setup('count: { window: { session: 10s, grace: 5s } }')
    const out = await harness().run(make(), [at(100), at(96, {}, 'b'), at(94, {}, 'c')])
    expect(results(out)).toEqual(['a@100000=1 [100s,100s]', 'b@96000=1 [96s,96s]'])
    expect(counters.lateRecords).toBe(1)
  })

  it('merges aggregates with the merger and emits each session once it can no longer grow', async () => {
    const { make } = setup(
      [
        'aggregate:',
        '  initializer: \'{"bytes": 0.0}\'',
        '  adder: \'{"bytes": aggregate.bytes + value.bytes}\'',
        '  merger: \'{"bytes": aggregate.bytes + value.bytes}\'',
        '  window: { session: 10s, grace: 20s }',
        '  emit: onWindowClose',
      ].join('\n'),
    )
    const { run } = harness()
    expect(results(await run(make(), [at(0, { bytes: 1 }), at(20, { bytes: 2 }), at(10, { bytes: 4 })]))).toEqual([])
    stores.commit()
    // Session [0, 20] closes when stream time passes 20 + 10 (gap) + 20 (grace).
    expect(
      results(await run(make(), [at(30, { bytes: 8 }, 'b'), at(31, { bytes: 8 }, 'b'), at(50, { bytes: 1 }, 'c')])),
    ).toEqual([])
    expect(results(await run(make(), [at(51, { bytes: 1 }, 'c')]))).toEqual(['a@0={"bytes":7} [0s,20s]'])
    expect(results(await run(make(), [at(62, { bytes: 1 }, 'c')]))).toEqual(['b@30000={"bytes":16} [30s,31s]'])
  })
})
