import Kafka from 'node-rdkafka'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, expect, inject, it } from 'vitest'
import { KubeStream } from '../../runtime/kube-stream.js'
import { createTopic, readTopics } from '../../simulators/kafka-topics.js'
import { TracerSimulatorServer } from '../../simulators/tracer-simulator-server.js'
import { loadTopologyFile } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import {
  type Counters,
  DeltaModel,
  type PodValue,
  type ServiceValue,
  tracerEntry,
  type Tuple,
  workloadOf,
} from '../support/tracer-model.js'

const brokers = inject('kafkaBrokers')
const dir = mkdtempSync(join(tmpdir(), 'kubestream-flows-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const WINDOW_MS = 4_000
const frontend: PodValue = {
  name: 'frontend-7d9c-abc',
  namespace: 'shop',
  workload: { kind: 'Deployment', name: 'frontend' },
}
const backend: PodValue = {
  name: 'backend-55f-xyz',
  namespace: 'shop',
  workload: { kind: 'Deployment', name: 'backend' },
}
const backend2: PodValue = {
  name: 'backend-55f-qrs',
  namespace: 'shop',
  workload: { kind: 'Deployment', name: 'backend' },
}
const cart: PodValue = { name: 'cart-6c8-klm', namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }
const postgres: PodValue = { name: 'postgres-0', namespace: 'db', workload: { kind: 'StatefulSet', name: 'postgres' } }
const debug: PodValue = { name: 'debug', namespace: 'default' }
const backendService: ServiceValue = { name: 'backend', namespace: 'shop' }
const dns: ServiceValue = { name: 'kube-dns', namespace: 'kube-system' }

const c = (sent: number, recv: number, retransmits = 0): Counters => ({ sent, recv, retransmits })
const toService: Tuple = ['10.244.1.10', '10.96.0.50', 50000, 80]
const toPod: Tuple = ['10.244.1.10', '10.244.2.20', 50001, 8080]
const toPodAgain: Tuple = ['10.244.1.10', '10.244.2.20', 50007, 8080]
const toDb: Tuple = ['10.244.2.21', '10.244.3.30', 40000, 5432]
const external: Tuple = ['10.244.1.11', '8.8.8.8', 33333, 53]
const dnsLookup: Tuple = ['fd00:10:244:1::10', 'fd00:10:96::a', 41000, 53]
const unknownPeer: Tuple = ['10.244.1.10', '10.244.9.9', 50003, 9000]

/**
 * examples/network-flows.yaml end to end on the real broker: a tracer's documents and the pod
 * and service tables go in; the sums per (workload pair, window) that come out must equal what
 * this test computes from the same documents and tables. Mid-run a pod is deleted (tombstone)
 * and its IP given to a pod of another deployment: traffic before goes to the old workload,
 * after to the new one.
 */
it('sums bytes and retransmits per workload pair and window, resolving IPs as the tables stood', async () => {
  const run = Date.now().toString(36)
  const topics = {
    connections: `flows-conns-${run}`,
    pods: `flows-pods-${run}`,
    services: `flows-services-${run}`,
    flows: `flows-out-${run}`,
  }
  await createTopic(brokers, topics.pods, 3, { 'cleanup.policy': 'compact' })
  await createTopic(brokers, topics.services, 3, { 'cleanup.policy': 'compact' })
  const pods = new Map<string, PodValue>([
    ['10.244.1.10', frontend],
    ['fd00:10:244:1::10', frontend],
    ['10.244.2.20', backend],
    ['10.244.2.21', backend2],
    ['10.244.3.30', postgres],
    ['10.244.1.11', debug],
  ])
  const services = new Map<string, ServiceValue>([
    ['10.96.0.50', backendService],
    ['fd00:10:96::a', dns],
  ])
  const producer = await connectProducer()
  let tableWrites = 0
  const writeTable = (topic: string, ip: string, value: object | null) => {
    producer.produce(topic, null, value === null ? null : Buffer.from(JSON.stringify(value)), ip)
    tableWrites++
  }
  for (const [ip, pod] of pods) writeTable(topics.pods, ip, pod)
  for (const [ip, service] of services) writeTable(topics.services, ip, service)
  await flush(producer)

  const socket = join(dir, 'tracer.sock')
  let current: Array<readonly [Tuple, Counters]> = []
  const tracer = new TracerSimulatorServer(socket, () =>
    JSON.stringify({ connections: current.map(([tuple, counters]) => tracerEntry(tuple, counters)) }),
  )
  await tracer.start()
  const graph = loadTopologyFile('examples/network-flows.yaml', {
    APPLICATION_ID: `flows-${run}`,
    KAFKA_BROKERS: brokers,
    TRACER_SOCKET: socket,
    TRACER_INTERVAL: '100ms',
    NODE_NAME: 'node-a',
    CONNECTIONS_TOPIC: topics.connections,
    PODS_TOPIC: topics.pods,
    SERVICES_TOPIC: topics.services,
    FLOWS_TOPIC: topics.flows,
    FLOW_WINDOW: `${WINDOW_MS}ms`,
    FLOW_GRACE: '1s',
    COMMIT_INTERVAL_MS: '100',
  })
  const stream = new KubeStream(graph, { stateDir: join(dir, 'state'), logger: pino({ level: 'warn' }) })
  await stream.start()

  const model = new DeltaModel()
  const expected = new Map<string, Counters>()
  /**
   * Serves one document and waits until its records were joined and summed, so what the tables hold now is what they
   * saw.
   */
  const serve = async (document: Array<readonly [Tuple, Counters]>) => {
    // Deltas are charged to the window of the poll that saw them: keep the poll clear of a window's edge.
    if (Date.now() % WINDOW_MS > WINDOW_MS - 1_000)
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS - (Date.now() % WINDOW_MS) + 50))
    const window = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS
    current = document
    const served = tracer.served
    await waitFor('the tracer to serve the document', () => tracer.served > served + 1, 20_000, 10)
    // Served is not yet landed: the source lands what it read on its next turn of the run loop.
    const answers = tracer.served
    await waitFor(
      'the source to land what was served',
      () => (stream.counters.sourceDocuments.get('connections') ?? 0) >= answers,
      20_000,
      10,
    )
    const landed = stream.counters.producedByTopic.get(topics.connections) ?? 0
    await waitFor(
      'its records to be processed',
      () => (stream.counters.consumedByTopic.get(topics.connections) ?? 0) >= landed,
      30_000,
      20,
    )
    expect(Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS).toBe(window)
    for (const [[source, dest], delta] of model.next(document)) {
      const pair = `${workloadOf(source, pods, services, false)}→${workloadOf(dest, pods, services, true)}@${window}`
      const sum = expected.get(pair) ?? c(0, 0)
      expected.set(pair, {
        sent: sum.sent + delta.sent,
        recv: sum.recv + delta.recv,
        retransmits: sum.retransmits + delta.retransmits,
      })
    }
  }
  const changeTables = async (change: () => void) => {
    change()
    await flush(producer)
    await waitFor('the tables to take the change', () => stream.counters.globalTableRecords >= tableWrites, 30_000, 20)
  }

  await waitFor('the tables to load', () => stream.counters.globalTableRecords >= tableWrites, 30_000, 20)
  await serve([
    [toService, c(100, 2_000)],
    [toPod, c(300, 40)],
    [toDb, c(1_000, 50_000, 1)],
    [external, c(60, 120)],
    [dnsLookup, c(40, 90)],
    [unknownPeer, c(7, 0)],
  ])
  await serve([
    [toService, c(250, 4_500)],
    [toPod, c(600, 80)],
    [toDb, c(1_500, 90_000, 4)],
    [external, c(60, 120)],
    [dnsLookup, c(80, 180)],
    [unknownPeer, c(9, 3)],
  ])
  // backend-55f-xyz goes away; its IP goes to a cart pod.
  await changeTables(() => {
    writeTable(topics.pods, '10.244.2.20', null)
    pods.delete('10.244.2.20')
  })
  await serve([
    [toService, c(300, 5_000)],
    [toDb, c(1_600, 95_000, 4)],
    [dnsLookup, c(90, 200)],
  ])
  await changeTables(() => {
    writeTable(topics.pods, '10.244.2.20', cart)
    pods.set('10.244.2.20', cart)
  })
  // toService's counters went back to zero: its tuple is a new connection now.
  await serve([
    [toService, c(10, 100)],
    [toPodAgain, c(500, 70)],
    [toDb, c(1_700, 99_000, 6)],
    [dnsLookup, c(90, 200)],
  ])
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS))
  await serve([
    [toService, c(20, 300)],
    [toPodAgain, c(900, 90)],
    [toDb, c(1_700, 99_000, 6)],
  ])
  const repartition = `flows-${run}-per-pair-repartition`
  const sent = stream.counters.producedByTopic.get(repartition) ?? 0
  await waitFor(
    'the per-pair sums to catch up',
    () => (stream.counters.consumedByTopic.get(repartition) ?? 0) >= sent,
    30_000,
    20,
  )
  await stream.stop()
  await tracer.stop()
  producer.disconnect()

  const got = new Map<string, Counters>()
  for (const message of await readTopics(brokers, [topics.flows], { readCommitted: true })) {
    const { value } = JSON.parse(message.value.toString())
    if (value.sentBytes + value.recvBytes + value.retransmits === 0) continue
    got.set(message.key!, { sent: value.sentBytes, recv: value.recvBytes, retransmits: value.retransmits })
  }
  for (const [pair, sum] of expected) if (sum.sent + sum.recv + sum.retransmits === 0) expected.delete(pair)
  expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected))
  const pairs = new Set([...got.keys()].map((key) => key.split('@')[0]))
  // The reused IP: the same destination, first the backend, then nothing known, then the cart.
  for (const pair of [
    'shop/frontend→shop/backend',
    'shop/frontend→shop/cart',
    'shop/frontend→10.244.9.9',
    'default/debug→8.8.8.8',
    'shop/frontend→kube-system/kube-dns',
    'shop/backend→db/postgres',
  ])
    expect(pairs).toContain(pair)
}, 120_000)

function connectProducer(): Promise<Kafka.Producer> {
  // The same partitioner as kubestream's (a topic-level property: see producerConfigs).
  const producer = new Kafka.Producer(
    { 'bootstrap.servers': brokers, 'linger.ms': 5, dr_cb: true },
    { partitioner: 'murmur2_random' },
  )
  return new Promise((resolve, reject) => producer.connect({}, (error) => (error ? reject(error) : resolve(producer))))
}

function flush(producer: Kafka.Producer): Promise<void> {
  return new Promise((resolve, reject) => producer.flush(10_000, (error) => (error ? reject(error) : resolve())))
}
