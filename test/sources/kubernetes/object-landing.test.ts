import { afterEach, describe, expect, it } from 'vitest'
import type { KubeObject } from '../../../connectors/kubernetes/list-watch.js'
import { LandedObjects } from '../../../sources/kubernetes/landed-objects.js'
import { EventEnvelopes, eventTime, TableLanding } from '../../../sources/kubernetes/object-landing.js'
import { tempStores } from '../../support/stores.js'

const stores: Array<ReturnType<typeof tempStores>> = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/** A landing on a real LMDB store; `records` collects what it lands, `commit` applies its writes. */
function landingOf<T>(make: (landed: LandedObjects, land: (key: string, value: unknown) => void) => T) {
  const state = tempStores()
  stores.push(state)
  const records: Array<[string, unknown]> = []
  return {
    landing: make(new LandedObjects(state.bytes('landed')), (key, value) => records.push([key, value])),
    records,
    commit: state.commit,
  }
}

const pod = (uid: string, rv: string, ips: string[], labels: Record<string, string> = {}): KubeObject => ({
  metadata: { uid, name: uid, namespace: 'shop', resourceVersion: rv, labels },
  status: { podIPs: ips.map((ip) => ({ ip })) },
})
const rows = (object: KubeObject) => ({
  keys: ((object.status as any).podIPs as Array<{ ip: string }>).map((p) => p.ip),
  value: { name: object.metadata.name, labels: object.metadata.labels },
})

describe('TableLanding', () => {
  it('moves a row when its object changes IP: a tombstone for the old key, an upsert for the new', () => {
    const { landing, records, commit } = landingOf((landed, land) => new TableLanding(landed, land, rows))
    landing.upsert(pod('a', '1', ['10.0.0.1']))
    commit()
    landing.upsert(pod('a', '2', ['10.0.0.2']))
    expect(records).toEqual([
      ['10.0.0.1', { name: 'a', labels: {} }],
      ['10.0.0.1', null],
      ['10.0.0.2', { name: 'a', labels: {} }],
    ])
  })

  it('lands nothing for a new resourceVersion whose row is the same, or for a version already landed', () => {
    const { landing, records } = landingOf((landed, land) => new TableLanding(landed, land, rows))
    landing.upsert(pod('a', '1', ['10.0.0.1']))
    landing.upsert(pod('a', '1', ['10.0.0.1']))
    landing.upsert(pod('a', '2', ['10.0.0.1']))
    landing.upsert(pod('a', '3', ['10.0.0.1'], { tier: 'web' }))
    expect(records.map(([key, value]) => [key, (value as any).labels])).toEqual([
      ['10.0.0.1', {}],
      ['10.0.0.1', { tier: 'web' }],
    ])
  })

  it('never tombstones a key another object took over, on deletion or on a re-list that misses it', () => {
    const { landing, records } = landingOf((landed, land) => new TableLanding(landed, land, rows))
    landing.upsert(pod('old', '1', ['10.0.0.1', 'fd00::1']))
    landing.upsert(pod('new', '2', ['10.0.0.1']))
    landing.remove(pod('old', '3', ['10.0.0.1', 'fd00::1']))
    landing.removeLanded('shop', 'new')
    expect(records).toEqual([
      ['10.0.0.1', { name: 'old', labels: {} }],
      ['fd00::1', { name: 'old', labels: {} }],
      ['10.0.0.1', { name: 'new', labels: {} }],
      ['fd00::1', null],
      ['10.0.0.1', null],
    ])
  })
})

describe('EventEnvelopes', () => {
  const event = (rv: string, count: number, extra: Record<string, unknown> = {}): KubeObject => ({
    metadata: { uid: 'e1', name: 'web.1', namespace: 'shop', resourceVersion: rv },
    count,
    ...extra,
  })

  it('lands ADDED, UPDATED with the version landed before, then DELETED; a version seen again lands nothing', () => {
    const { landing, records, commit } = landingOf((landed, land) => new EventEnvelopes(landed, land))
    landing.upsert(event('1', 1))
    commit()
    landing.upsert(event('1', 1))
    landing.upsert(event('2', 2))
    landing.removeLanded('shop', 'e1')
    landing.removeLanded('shop', 'e1')
    expect(
      records.map(([key, value]: [string, any]) => [key, value.verb, value.event.count, value.old_event?.count]),
    ).toEqual([
      ['e1', 'ADDED', 1, undefined],
      ['e1', 'UPDATED', 2, 1],
      ['e1', 'DELETED', 2, undefined],
    ])
  })

  it('timestamps an event when it last happened', () => {
    expect(
      eventTime(event('1', 1, { lastTimestamp: '2026-11-20T09:16:41Z', firstTimestamp: '2026-11-20T09:14:03Z' })),
    ).toBe(Date.parse('2026-11-20T09:16:41Z'))
    expect(
      eventTime(
        event('1', 0, {
          eventTime: '2026-11-20T10:02:31.418203Z',
          series: { count: 4, lastObservedTime: '2026-11-20T10:05:02.119845Z' },
        }),
      ),
    ).toBe(Date.parse('2026-11-20T10:05:02.119Z'))
  })
})
