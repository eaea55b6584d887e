import Kafka from 'node-rdkafka'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, expect, inject, it } from 'vitest'
import { KubeStream } from '../../runtime/kube-stream.js'
import { mulberry32 } from '../../simulators/cluster-events.js'
import { createTopic, readTopics } from '../../simulators/kafka-topics.js'
import { loadTopology } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'

const brokers = inject('kafkaBrokers')
const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-join-'))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))

type Operation =
  | { kind: 'pod'; key: string; value: { name: string } | null; timestamp: number }
  | { kind: 'flow'; key: string; value: { n: number; svc: string }; timestamp: number }

/**
 * A stream of flows joined with a co-partitioned table of pods (inner and left) and with a
 * global table of services looked up by a computed key. Table updates and tombstones are
 * interleaved with the stream in one timestamp order; the engine must give every flow the pod
 * the table held at that flow's time, which this test computes by replaying the same order.
 */
it('joins a stream with tables, each output as the table stood at that point of the input', async () => {
  const run = Date.now().toString(36)
  const topics = { flows: `join-flows-${run}`, pods: `join-pods-${run}`, services: `join-services-${run}` }
  for (const topic of Object.values(topics)) await createTopic(brokers, topic, 3)
  const random = mulberry32(5)
  const keys = Array.from({ length: 25 }, (_, i) => `10.0.0.${i}`)
  const services = ['api', 'web', 'db', 'gone']
  const operations: Operation[] = []
  // Kafka 4 refuses timestamps more than an hour ahead (log.message.timestamp.after.max.ms).
  let time = Date.now() - 86_400_000
  for (let i = 0; i < 4_000; i++) {
    time += 1 + Math.floor(random() * 3)
    const key = keys[Math.floor(random() * keys.length)]
    const roll = random()
    if (roll < 0.25) operations.push({ kind: 'pod', key, value: { name: `pod-${i}` }, timestamp: time })
    else if (roll < 0.32) operations.push({ kind: 'pod', key, value: null, timestamp: time })
    else
      operations.push({
        kind: 'flow',
        key,
        value: { n: i, svc: services[Math.floor(random() * services.length)] },
        timestamp: time,
      })
  }

  const producer = await connectProducer()
  produce(producer, topics.services, 'api', { owner: 'team-a' }, time)
  produce(producer, topics.services, 'web', { owner: 'team-b' }, time)
  produce(producer, topics.services, 'gone', { owner: 'team-c' }, time)
  produce(producer, topics.services, 'gone', null, time)
  for (const op of operations)
    produce(producer, op.kind === 'pod' ? topics.pods : topics.flows, op.key, op.value, op.timestamp)
  await new Promise<void>((resolve, reject) => producer.flush(30_000, (e) => (e ? reject(e) : resolve())))
  producer.disconnect()

  const graph = loadTopology(
    `
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: join-${run} }
spec:
  kafka: { bootstrapServers: "${brokers}" }
  processing: { guarantee: exactly_once, commitIntervalMs: 200 }
  sources:
    - { name: flows, kafka: { topic: ${topics.flows} } }
    - { name: pods, kafka: { topic: ${topics.pods} }, table: {} }
    - { name: services, kafka: { topic: ${topics.services} }, table: { global: true } }
  steps:
    - { name: with-pod, from: flows, join: { table: pods, value: '{"n": value.n, "pod": table.name}' } }
    - name: maybe-pod
      from: flows
      join: { table: pods, type: left, value: '{"n": value.n, "pod": table == null ? null : table.name}' }
    - name: with-owner
      from: flows
      join:
        table: services
        type: left
        key: value.svc
        value: '{"n": value.n, "owner": table == null ? null : table.owner}'
  sinks:
    - { name: inner, from: with-pod, kafka: { topic: join-inner-${run}, partitions: 3 } }
    - { name: left, from: maybe-pod, kafka: { topic: join-left-${run}, partitions: 3 } }
    - { name: global, from: with-owner, kafka: { topic: join-global-${run}, partitions: 3 } }
`,
    'join.yaml',
    {},
  )

  const expected = {
    inner: new Map<string, unknown[]>(),
    left: new Map<string, unknown[]>(),
    global: new Map<string, unknown[]>(),
  }
  const pods = new Map<string, string>()
  const owners: Record<string, string> = { api: 'team-a', web: 'team-b' }
  const push = (map: Map<string, unknown[]>, key: string, value: unknown) =>
    map.set(key, [...(map.get(key) ?? []), value])
  for (const op of operations) {
    if (op.kind === 'pod') {
      if (op.value) pods.set(op.key, op.value.name)
      else pods.delete(op.key)
      continue
    }
    const pod = pods.get(op.key)
    if (pod !== undefined) push(expected.inner, op.key, { n: op.value.n, pod })
    push(expected.left, op.key, { n: op.value.n, pod: pod ?? null })
    push(expected.global, op.key, { n: op.value.n, owner: owners[op.value.svc] ?? null })
  }
  const flows = operations.filter((op) => op.kind === 'flow').length

  const stream = new KubeStream(graph, { stateDir, logger: pino({ level: 'warn' }) })
  await stream.start()
  await waitFor(
    'every flow joined',
    () => (stream.counters.producedByTopic.get(`join-left-${run}`) ?? 0) >= flows,
    120_000,
  )
  await stream.stop()

  for (const [name, want] of Object.entries(expected)) {
    const got = new Map<string, unknown[]>()
    for (const message of await readTopics(brokers, [`join-${name}-${run}`], { readCommitted: true }))
      push(got, message.key!, JSON.parse(message.value.toString()))
    expect({ name, outputs: Object.fromEntries(got) }).toEqual({ name, outputs: Object.fromEntries(want) })
  }
  expect(expected.inner.size).toBeGreaterThan(10)
}, 180_000)

async function connectProducer(): Promise<Kafka.Producer> {
  // The same partitioner as kubestream's (and Kafka's Java clients): one key, one partition number in every topic.
  // A topic-level property: set in the global configuration, node-rdkafka drops it (see producerConfigs).
  const producer = new Kafka.Producer(
    { 'bootstrap.servers': brokers, 'enable.idempotence': true, 'linger.ms': 5, dr_cb: true },
    { partitioner: 'murmur2_random' },
  )
  producer.on('delivery-report', (error) => {
    if (error) throw new Error(error.message, { cause: error })
  })
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 20_000 }, (e) => (e ? reject(e) : resolve())),
  )
  return producer
}

function produce(producer: Kafka.Producer, topic: string, key: string, value: unknown, timestamp: number): void {
  producer.produce(topic, null, value === null ? null : Buffer.from(JSON.stringify(value)), key, timestamp)
}
