import { afterEach, describe, expect, it } from 'vitest'
import type { TracerConnection } from '../../../connectors/tracer/connection.js'
import { ConnectionCounters, storeKey } from '../../../sources/tracer/connection-counters.js'
import { tempStores } from '../../support/stores.js'

const base: TracerConnection = {
  pid: 10,
  type: 'tcp',
  family: 'ipv4',
  netNs: 1,
  source: '10.0.0.1',
  dest: '10.0.0.2',
  sport: 40000,
  dport: 80,
  direction: 'outgoing',
  sentBytes: 0,
  recvBytes: 0,
  retransmits: 0,
}
const at = (sentBytes: number, recvBytes: number, retransmits = 0, changes: Partial<TracerConnection> = {}) => ({
  ...base,
  sentBytes,
  recvBytes,
  retransmits,
  ...changes,
})

let stores: ReturnType<typeof tempStores>
afterEach(async () => stores.close())

describe('ConnectionCounters', () => {
  it('counts a new connection whole, then the growth of its counters', () => {
    stores = tempStores()
    const counters = new ConnectionCounters(stores.bytes('counters'))
    expect(counters.update(at(100, 1000, 1))).toEqual({ sentBytes: 100, recvBytes: 1000, retransmits: 1, reset: false })
    expect(counters.update(at(150, 1000, 3))).toEqual({ sentBytes: 50, recvBytes: 0, retransmits: 2, reset: false })
  })

  it('takes counters that went down for a new connection on the same tuple', () => {
    stores = tempStores()
    const counters = new ConnectionCounters(stores.bytes('counters'))
    counters.update(at(5000, 5000))
    expect(counters.update(at(20, 9000))).toEqual({ sentBytes: 20, recvBytes: 9000, retransmits: 0, reset: true })
    expect(counters.update(at(25, 9100))).toEqual({ sentBytes: 5, recvBytes: 100, retransmits: 0, reset: false })
  })

  it('does not key by pid: a connection handed to another process goes on', () => {
    stores = tempStores()
    const counters = new ConnectionCounters(stores.bytes('counters'))
    counters.update(at(100, 100))
    expect(counters.update(at(130, 100, 0, { pid: 99 }))).toMatchObject({ sentBytes: 30, reset: false })
  })

  it('keeps connections of different network namespaces apart', () => {
    stores = tempStores()
    const counters = new ConnectionCounters(stores.bytes('counters'))
    counters.update(at(100, 100))
    expect(counters.update(at(100, 100, 0, { netNs: 2 }))).toMatchObject({ sentBytes: 100, recvBytes: 100 })
  })

  it('forgets closed connections, so a tuple opened again is counted whole', () => {
    stores = tempStores()
    const counters = new ConnectionCounters(stores.bytes('counters'))
    const other = at(7, 7, 0, { sport: 40001 })
    counters.update(at(500, 500))
    counters.update(other)
    stores.commit()
    expect(counters.prune(new Set([storeKey(other)]))).toBe(1)
    stores.commit()
    expect(stores.onDisk('counters').map(([key]) => key.toString())).toEqual([storeKey(other)])
    expect(counters.update(at(600, 600))).toMatchObject({ sentBytes: 600, recvBytes: 600, reset: false })
  })

  it('reads committed counters back from LMDB, and never uncommitted ones after a crash', () => {
    stores = tempStores()
    const counters = new ConnectionCounters(stores.bytes('counters'))
    counters.update(at(100, 100))
    stores.commit()
    counters.update(at(180, 100))
    // The crash: the buffer of the interval whose records Kafka never accepted is gone.
    stores.bytes('counters').discardChanges()
    expect(counters.update(at(200, 100))).toMatchObject({ sentBytes: 100 })
  })
})
