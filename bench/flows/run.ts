/**
 * `npm run bench:flows`: the network-flows topology against a simulated tracer that answers
 * every poll with 10,000 connections (pods of 20 simulated nodes; BENCH_CONNECTIONS,
 * BENCH_NODES) whose counters moved since the last answer, for BENCH_SECONDS (60). Reports
 * connection records per second through the whole topology, the share of the engine's time
 * in the tracer decode (parse, deltas, landing), the three joins and the two windowed sums,
 * and peak RSS. The tracer runs in this process, the engine in its own.
 */
import Kafka from 'node-rdkafka'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { adminConfig } from '../../connectors/kafka/client-config.js'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import { NetworkSimulation } from '../../simulators/network-simulation.js'
import { TracerSimulatorServer } from '../../simulators/tracer-simulator-server.js'
import type { ContenderResult } from '../fanout/report.js'
import { format, runContender, saveResults } from '../harness.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000)
const NODES = Number(process.env.BENCH_NODES ?? 20)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60)
const run = Date.now().toString(36)

interface Detail {
  stageMs: Record<string, number>
  elapsedMs: number
  documents: number
}

async function main(): Promise<void> {
  let broker: LocalBroker | undefined
  if (!process.env.KAFKA_BROKERS) broker = await startLocalBroker({ heap: '1g' })
  const brokers = process.env.KAFKA_BROKERS ?? broker!.brokers
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-flows-bench-'))
  try {
    const cluster = new NetworkSimulation({ seed: 7, nodes: NODES, connections: CONNECTIONS, podsPerDeployment: NODES })
    const tables = { pods: `bench-flows-pods-${run}`, services: `bench-flows-services-${run}` }
    await writeTables(brokers, tables, cluster)
    // Every answer is a new poll interval: all 10,000 connections moved since the last one.
    const tracer = new TracerSimulatorServer(join(dir, 'tracer.sock'), () => {
      cluster.tick()
      return cluster.document()
    })
    await tracer.start()
    console.log(
      `running network-flows.yaml for ${SECONDS} s against ${CONNECTIONS.toLocaleString('en')} connections per ` +
        `poll (${NODES} nodes' pods)…`,
    )
    let detail: Detail | undefined
    const result = await runContender(
      fileURLToPath(new URL('./network-flows.ts', import.meta.url)),
      {
        KAFKA_BROKERS: brokers,
        BENCH_GROUP_ID: `bench-flows-${run}`,
        BENCH_SECONDS: String(SECONDS),
        BENCH_TRACER_SOCKET: tracer.socket,
        BENCH_PODS_TOPIC: tables.pods,
        BENCH_SERVICES_TOPIC: tables.services,
      },
      (text) => {
        const line = text.split('\n').find((l) => l.startsWith('DETAIL '))
        if (line) detail = JSON.parse(line.slice('DETAIL '.length)) as Detail
      },
    )
    await tracer.stop()
    console.log(`  ${format(result)}`)
    write(result, detail!)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await broker?.stop()
  }
}

async function writeTables(
  brokers: string,
  topics: { pods: string; services: string },
  cluster: NetworkSimulation,
): Promise<void> {
  const admin = new TopicAdmin(adminConfig({ bootstrapServers: brokers }, 'bench-flows'))
  for (const topic of Object.values(topics))
    await admin.ensureTopic(topic, { partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'compact' } })
  admin.close()
  // Keyed as kubestream's producers (and Kafka's Java clients) key: one IP, one partition number in every topic.
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers }, { partitioner: 'murmur2_random' })
  await new Promise<void>((resolve, reject) => producer.connect({}, (error) => (error ? reject(error) : resolve())))
  for (const [ip, pod] of cluster.pods) producer.produce(topics.pods, null, Buffer.from(JSON.stringify(pod)), ip)
  for (const [ip, service] of cluster.services)
    producer.produce(topics.services, null, Buffer.from(JSON.stringify(service)), ip)
  await new Promise<void>((resolve, reject) => producer.flush(10_000, (error) => (error ? reject(error) : resolve())))
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
}

function write(result: ContenderResult, detail: Detail): void {
  const date = new Date().toISOString()
  const ms = detail.stageMs
  const share = (steps: string[]) => steps.reduce((sum, step) => sum + (ms[step] ?? 0), 0) / detail.elapsedMs
  const stages = [
    ['tracer decode (parse, deltas, landing)', share(['connections'])],
    ['joins (source pod, destination pod, destination service)', share(['source-pod', 'dest-pod', 'dest-service'])],
    ['workload names (map)', share(['workloads'])],
    ['windowed sums (per connection, per pair)', share(['per-connection', 'per-pair'])],
  ] as const
  const rate = result.records / (result.elapsedMs / 1000)
  const markdown = [
    `# flows benchmark — ${date}`,
    '',
    `examples/network-flows.yaml (exactly-once) polling a simulated tracer as fast as it answers: ` +
      `${CONNECTIONS.toLocaleString('en')} connections per answer, pods of ${NODES} simulated nodes, ${SECONDS} ` +
      `s; 2 cores, Node ${process.version}; one local KRaft broker.`,
    '',
    '| contender | connection records/s | polls | CPU s | peak RSS MB |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| kubestream network-flows.yaml | ${Math.round(rate).toLocaleString('en')} | ${detail.documents} | ` +
      `${result.cpuSeconds.toFixed(1)} | ${result.peakRssMb.toFixed(0)} |`,
    '',
    "Share of the engine's wall time, by stage (each timed on the main thread, its own work only):",
    '',
    ...stages.map(([stage, fraction]) => `- ${stage}: **${(fraction * 100).toFixed(1)}%**`),
    `- the rest (consuming, producing, commits, changelogs, waiting): ` +
      `${((1 - stages.reduce((s, [, f]) => s + f, 0)) * 100).toFixed(1)}%`,
  ].join('\n')
  saveResults(
    'flows',
    { date, ...{ result, detail, connections: CONNECTIONS, nodes: NODES, seconds: SECONDS } },
    markdown,
  )
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
