import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, expect, inject, it } from 'vitest'
import { DLQ_HEADERS } from '../../runtime/dead-letter.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { readTopics } from '../../simulators/kafka-topics.js'
import { TracerSimulatorServer } from '../../simulators/tracer-simulator-server.js'
import { loadTopology } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import { tracerEntry } from '../support/tracer-model.js'

const brokers = inject('kafkaBrokers')
const dir = mkdtempSync(join(tmpdir(), 'kubestream-tracer-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

type Entry = Record<string, unknown>
const entry = (
  source: string,
  dest: string,
  sport: number,
  dport: number,
  sent: number,
  recv: number,
  retransmits = 0,
  extra: Entry = {},
): Entry => tracerEntry([source, dest, sport, dport], { sent, recv, retransmits }, { pid: 4242, ...extra })
const A = ['10.244.1.17', '10.96.0.10', 50322, 443] as const
const B = ['10.244.1.17', '10.244.2.5', 41515, 53] as const
const C = ['fd00:10:244:2::1a', 'fd00:10:244:1::11', 8080, 36884] as const
const key = (t: readonly [string, string, number, number]) => t.join('|')

/**
 * The tracer source against a tracer on a unix socket whose documents evolve: counters grow,
 * one resets, a connection closes and its tuple opens again, IPv6 and UDP, a loopback pair, a
 * malformed entry, a tracer that goes away, answers garbage and answers too slowly, and a
 * kubestream restart between two documents. Every document may be served more than once (the
 * tracer is polled faster than the test moves on): a repeat must add nothing.
 */
it('lands exact per-connection deltas across resets, closes, outages and a restart', async () => {
  const run = Date.now().toString(36)
  const topic = `tracer-conns-${run}`
  const socket = join(dir, 'tracer.sock')
  let current: Entry[] = []
  const tracer = new TracerSimulatorServer(socket, () => JSON.stringify({ connections: current }))
  await tracer.start()
  const graph = loadTopology(
    `
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: tracer-${run} }
spec:
  kafka: { bootstrapServers: "${brokers}" }
  processing: { guarantee: exactly_once, commitIntervalMs: 100 }
  sources:
    - name: connections
      tracer:
        socket: "${socket}"
        interval: 100ms
        timeout: 1s
        maxBackoff: 400ms
        node: node-a
        topic: ${topic}
        partitions: 3
`,
    'tracer.yaml',
    {},
  )
  const start = async () => {
    const stream = new KubeStream(graph, { stateDir: join(dir, 'state'), logger: pino({ level: 'warn' }) })
    await stream.start()
    return stream
  }
  const serve = async (connections: Entry[]) => {
    current = connections
    const served = tracer.served
    await waitFor('the tracer to serve the document', () => tracer.served > served + 1, 20_000, 20)
  }

  let stream = await start()
  await serve([
    entry(...A, 100, 1000),
    { ...entry(...B, 10, 20), type: 1 },
    entry(...C, 5, 5),
    entry('127.0.0.1', '127.0.0.1', 5432, 40000, 999, 999),
  ])
  await serve([
    entry(...A, 150, 1500, 1),
    { ...entry(...B, 10, 25), type: 1 },
    entry(...C, 50, 5),
    entry('not-an-ip', '10.0.0.1', 1, 2, 1, 1),
    entry('10.244.1.17', '10.244.3.3', 60000, 80, 0, 0, 0, { monotonic_recv_bytes: 'lots' }),
  ])
  // The tracer goes away for a while; polls fail and back off.
  await tracer.stop()
  current = []
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  await tracer.start()
  // A's counters went back to zero (its tuple reopened); B closed.
  await serve([entry(...A, 20, 30), entry(...C, 60, 10)])
  tracer.answerNextWithGarbage()
  tracer.answerNextSlowly(1_500)
  // B's tuple opens again: a new connection, counted whole.
  await serve([entry(...A, 40, 60), { ...entry(...B, 5, 5), type: 1 }, entry(...C, 60, 10)])
  const metrics = await stream.metrics.metrics()
  await stream.stop()

  // Restarted between two documents: the first answer after it repeats the last one.
  stream = await start()
  await serve([entry(...A, 40, 60), { ...entry(...B, 5, 5), type: 1 }, entry(...C, 60, 10)])
  await serve([entry(...A, 100, 100, 2), { ...entry(...B, 8, 9), type: 1 }, entry(...C, 70, 10)])
  await stream.stop()
  await tracer.stop()

  const records = await readTopics(brokers, [topic], { readCommitted: true })
  const sums = new Map<string, { sent: number; recv: number; retransmits: number }>()
  for (const record of records) {
    const value = JSON.parse(record.value.toString())
    expect(value).toMatchObject({ node: 'node-a', netNs: 4026532000 })
    expect(record.key).toBe(`${value.source}|${value.dest}|${value.sport}|${value.dport}`)
    const sum = sums.get(record.key!) ?? { sent: 0, recv: 0, retransmits: 0 }
    sums.set(record.key!, {
      sent: sum.sent + value.sentBytes,
      recv: sum.recv + value.recvBytes,
      retransmits: sum.retransmits + value.retransmits,
    })
  }
  // A: 100, +50, reset → 20, +20, +60; B: 10, +0, closed, reopened 5, +3; C: 5, +45, +10, +0, +10.
  expect(Object.fromEntries(sums)).toEqual({
    [key(A)]: { sent: 250, recv: 1600, retransmits: 3 },
    [key(B)]: { sent: 18, recv: 34, retransmits: 0 },
    [key(C)]: { sent: 70, recv: 10, retransmits: 0 },
  })
  const typeOf = (k: string) => JSON.parse(records.find((r) => r.key === k)!.value.toString())
  expect(typeOf(key(B))).toMatchObject({ type: 'udp', family: 'ipv4', direction: 'outgoing' })
  expect(typeOf(key(C))).toMatchObject({ type: 'tcp', family: 'ipv6' })

  const deadLetters = await readTopics(brokers, [`tracer-${run}-dlq`], { readCommitted: true })
  const reasons = new Set(deadLetters.map((d) => d.headers[DLQ_HEADERS.message]))
  expect(reasons).toEqual(
    new Set([
      'malformed tracer connection: source "not-an-ip" is not an IP address',
      'malformed tracer connection: monotonic_recv_bytes "lots" is not a counter',
    ]),
  )
  expect(
    deadLetters.every(
      (d) => d.headers[DLQ_HEADERS.code] === 'DESERIALIZATION' && d.headers[DLQ_HEADERS.step] === 'connections',
    ),
  ).toBe(true)
  for (const code of ['UNREACHABLE', 'GARBAGE', 'TIMEOUT'])
    expect(metrics).toMatch(
      new RegExp(
        `kubestream_source_errors_total\\{source="connections",code="${code}",application_id="tracer-${run}"\\} [1-9]`,
      ),
    )
}, 90_000)
