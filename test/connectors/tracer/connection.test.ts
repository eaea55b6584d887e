import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  connectionKey,
  isLoopbackPair,
  MalformedConnectionError,
  parseConnection,
} from '../../../connectors/tracer/connection.js'
import { parseDocument, TracerReadError } from '../../../connectors/tracer/tracer-document.js'

const sample = readFileSync(new URL('../../fixtures/tracer-connections.json', import.meta.url), 'utf8')

describe('parseConnection', () => {
  it('names the fields of every entry of the tracer sample', () => {
    const connections = parseDocument(sample).map(parseConnection)
    expect(connections.map(connectionKey)).toEqual([
      '172.17.0.2|172.17.0.5|41515|53',
      '172.17.0.2|172.17.0.5|41516|53',
      '10.244.1.17|10.96.0.10|50322|443',
      'fd00:10:244:2::1a|fd00:10:244:1::11|8080|36884',
    ])
    expect(connections[2]).toEqual({
      pid: 2210,
      type: 'tcp',
      family: 'ipv4',
      netNs: 4026532611,
      source: '10.244.1.17',
      dest: '10.96.0.10',
      sport: 50322,
      dport: 443,
      direction: 'outgoing',
      sentBytes: 88211,
      recvBytes: 1502337,
      retransmits: 3,
    })
    expect(connections[0]).toMatchObject({ type: 'udp', direction: 'incoming' })
    expect(connections[3]).toMatchObject({ family: 'ipv6', type: 'tcp' })
  })

  it.each([
    [{ source: 'nope' }, /source "nope" is not an IP address/, undefined],
    [{ ...JSON.parse(sample).connections[2], sport: 70000 }, /sport 70000 is not a port/, undefined],
    [
      { ...JSON.parse(sample).connections[2], monotonic_sent_bytes: -1 },
      /monotonic_sent_bytes -1 is not a counter/,
      '4026532611|10.244.1.17|10.96.0.10|50322|443',
    ],
    [
      { ...JSON.parse(sample).connections[2], monotonic_recv_bytes: '12' },
      /monotonic_recv_bytes "12" is not a counter/,
      '4026532611|10.244.1.17|10.96.0.10|50322|443',
    ],
    [
      { ...JSON.parse(sample).connections[2], type: 7 },
      /type 7 is not one of 0..1/,
      '4026532611|10.244.1.17|10.96.0.10|50322|443',
    ],
    [
      { ...JSON.parse(sample).connections[2], family: 1 },
      /family ipv6 does not match source 10.244.1.17/,
      '4026532611|10.244.1.17|10.96.0.10|50322|443',
    ],
    [null, /must be a JSON object/, undefined],
  ])('rejects %j, naming what is wrong', (entry, message, storeKey) => {
    let error: unknown
    try {
      parseConnection(entry)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(MalformedConnectionError)
    expect((error as Error).message).toMatch(message)
    expect((error as MalformedConnectionError).storeKey).toBe(storeKey)
  })

  it('knows loopback pairs, IPv4, IPv6 and IPv4-mapped', () => {
    expect(isLoopbackPair({ source: '127.0.0.1', dest: '127.0.0.53' })).toBe(true)
    expect(isLoopbackPair({ source: '::1', dest: '::1' })).toBe(true)
    expect(isLoopbackPair({ source: '::ffff:127.0.0.1', dest: '127.0.0.1' })).toBe(true)
    expect(isLoopbackPair({ source: '127.0.0.1', dest: '10.0.0.1' })).toBe(false)
  })
})

describe('parseDocument', () => {
  it.each(['<html>', '{"conns": []}', 'null', '[]'])('calls %j garbage', (text) => {
    expect(() => parseDocument(text)).toThrow(TracerReadError)
  })
})
