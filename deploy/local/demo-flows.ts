/**
 * `npm run demo:flows`: a local Kafka broker, a simulated cluster of three nodes (pods of ten
 * deployments, a service each, connections that open, grow, reset and close), each node's
 * tracer on its own unix socket, and examples/network-flows.yaml run as it would be in a
 * cluster: one `--ingest only` replica per node (the DaemonSet) landing connection deltas in
 * network-connections, one `--ingest off` replica (the StatefulSet) joining them with
 * pods-by-ip and services-by-ip and summing per workload pair and minute. The aggregating
 * replica's live page is served on loopback (DEMO_HTTP_PORT, 8080); the terminal keeps one
 * status line with the top talking workload pair of the current minute, read back from
 * network-flows.
 *
 * KAFKA_BROKERS=host:port uses that broker instead; LOG_LEVEL (default warn) the replicas' logs.
 */
import Kafka from 'node-rdkafka'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { adminConfig } from '../../connectors/kafka/client-config.js'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { createLogger } from '../../core/logger.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { NetworkSimulation } from '../../simulators/network-simulation.js'
import { TracerSimulatorServer } from '../../simulators/tracer-simulator-server.js'
import { loadTopologyFile } from '../../topology/load.js'
import { demoUrl, serveTopologyPage, statusLine } from './demo-console.js'
import { followLatest } from './follow-topic.js'
import { demoBroker } from './kafka-broker.js'

const flowsFile = fileURLToPath(new URL('../../examples/network-flows.yaml', import.meta.url))
const TICK_MS = 2_000
/** Where the per-node replicas land the tracers' connection deltas (examples/network-flows.yaml). */
const CONNECTIONS = 'network-connections'
const logLevel = process.env.LOG_LEVEL ?? 'warn'

async function main(): Promise<void> {
  const { brokers, broker } = await demoBroker()
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-flows-demo-'))
  const cluster = new NetworkSimulation({ seed: Date.now() % 100_000, nodes: 3, connections: 300 })
  await writeTables(brokers, cluster)
  console.log(
    `Kafka at ${brokers}; pods-by-ip (${cluster.pods.size} pods) and services-by-ip (${cluster.services.size} ` +
      `services) written`,
  )

  const tracers = cluster.nodeNames.map(
    (node) => new TracerSimulatorServer(join(dir, `${node}.sock`), () => cluster.document(node)),
  )
  for (const tracer of tracers) await tracer.start()
  const ticking = setInterval(() => cluster.tick(), TICK_MS)

  const env = (node: string, socket: string) => ({
    ...process.env,
    NODE_NAME: node,
    TRACER_SOCKET: socket,
    TRACER_INTERVAL: `${TICK_MS}ms`,
  })
  const perNode = cluster.nodeNames.map(
    (node, i) =>
      new KubeStream(loadTopologyFile(flowsFile, env(node, tracers[i].socket)), {
        logger: createLogger(`ingest-${node}`, logLevel),
        stateDir: join(dir, node),
        instanceId: `ingest-${node}`,
        ingest: 'only',
      }),
  )
  const aggregator = new KubeStream(loadTopologyFile(flowsFile, env('aggregator', join(dir, 'none.sock'))), {
    logger: createLogger('network-flows', logLevel),
    stateDir: join(dir, 'aggregator'),
    instanceId: 'network-flows-0',
    ingest: 'off',
    advertisedUrl: demoUrl(0),
  })
  const server = await serveTopologyPage(aggregator, 0)
  for (const stream of [...perNode, aggregator]) await stream.start()
  const flows = await followLatest<PairSums>(brokers, 'network-flows')
  const status = statusLine()
  const report = setInterval(() => {
    const landed = perNode.reduce((sum, stream) => sum + (stream.counters.producedByTopic.get(CONNECTIONS) ?? 0), 0)
    status.show(`${cluster.nodeNames.length} nodes, ${landed} connection deltas landed  ${topPairs(flows.latest, 1)}`)
  }, TICK_MS)

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.log('\nstopping: tracers, the replicas (flush + commit), then the broker')
    clearInterval(ticking)
    clearInterval(report)
    status.end()
    server.close()
    let code = 0
    try {
      for (const stream of [...perNode, aggregator]) await stream.stop()
      for (const tracer of tracers) await tracer.stop()
      await flows.close()
    } catch (error) {
      console.error('clean stop failed:', error)
      code = 1
    }
    await broker?.stop()
    rmSync(dir, { recursive: true, force: true })
    process.exit(code)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())
  for (const stream of [...perNode, aggregator]) {
    stream.done.catch(async (error: unknown) => {
      console.error(`${stream.graph.applicationId} stopped by a fault:`, error)
      await stop()
    })
  }
  console.log(`topology page: ${demoUrl(0)}/  (${cluster.nodeNames.length} nodes polled every ${TICK_MS / 1000}s)`)
  console.log('Ctrl-C to stop')
}

async function writeTables(brokers: string, cluster: NetworkSimulation): Promise<void> {
  const admin = new TopicAdmin(adminConfig({ bootstrapServers: brokers }, 'demo-flows'))
  for (const topic of ['pods-by-ip', 'services-by-ip'])
    await admin.ensureTopic(topic, { partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'compact' } })
  admin.close()
  // Keyed as kubestream's producers (and Kafka's Java clients) key: one IP, one partition number in every topic.
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers }, { partitioner: 'murmur2_random' })
  await new Promise<void>((resolve, reject) => producer.connect({}, (error) => (error ? reject(error) : resolve())))
  for (const [ip, pod] of cluster.pods) producer.produce('pods-by-ip', null, Buffer.from(JSON.stringify(pod)), ip)
  for (const [ip, service] of cluster.services)
    producer.produce('services-by-ip', null, Buffer.from(JSON.stringify(service)), ip)
  await new Promise<void>((resolve, reject) => producer.flush(10_000, (error) => (error ? reject(error) : resolve())))
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
}

interface PairSums {
  windowStart: number
  value: { src: string; dst: string; sentBytes: number; recvBytes: number; retransmits: number }
}

function topPairs(latest: Map<string, PairSums>, n: number): string {
  let window = 0
  for (const sums of latest.values()) window = Math.max(window, sums.windowStart)
  const top = [...latest.values()]
    .filter((s) => s.windowStart === window)
    .sort((a, b) => b.value.sentBytes + b.value.recvBytes - (a.value.sentBytes + a.value.recvBytes))
    .slice(0, n)
  if (top.length === 0) return 'network flows: (none yet)'
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
  const pairs = top.map(
    ({ value: v }) => `${v.src}→${v.dst} ↑${mib(v.sentBytes)} ↓${mib(v.recvBytes)} rtx ${v.retransmits}`,
  )
  return `minute ${new Date(window).toISOString().slice(11, 16)} UTC: ${pairs.join(' | ')}`
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
