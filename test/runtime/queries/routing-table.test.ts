import { describe, expect, it } from 'vitest'
import { type ReplicaAdvert, RoutingTable } from '../../../runtime/queries/routing-table.js'

const advert = (instance: string, active: number[], standby: number[] = []): ReplicaAdvert => ({
  instance,
  url: `http://${instance}:8080`,
  active: { counts: active },
  standby: { counts: standby },
})

describe('RoutingTable', () => {
  it('names the replica with the latest claim as a partition owner', () => {
    const table = new RoutingTable()
    table.apply('a', advert('a', [0, 1]), 10)
    table.apply('b', advert('b', [2], [0]), 11)
    expect(table.owner('counts', 0)?.instance).toBe('a')
    expect(table.owner('counts', 2)?.instance).toBe('b')
    expect(table.owner('other', 0)).toBeUndefined()
    // The group moved partition 1 to b; a has not said it let go yet (or died): b's later claim wins.
    table.apply('b', advert('b', [1, 2]), 12)
    expect(table.owner('counts', 1)?.instance).toBe('b')
    expect(table.owner('counts', 0)?.instance).toBe('a')
    expect(table.standbys('counts', 0)).toEqual([])
  })

  it('forgets a replica that left, and has no owner while nobody claims a partition', () => {
    const table = new RoutingTable()
    table.apply('a', advert('a', [0]), 1)
    table.apply('b', advert('b', [1], [0]), 2)
    table.apply('a', null, 3)
    expect(table.owner('counts', 0)).toBeUndefined()
    expect(table.standbys('counts', 0).map((r) => r.instance)).toEqual(['b'])
    expect(table.replicas().map((r) => r.instance)).toEqual(['b'])
  })
})
