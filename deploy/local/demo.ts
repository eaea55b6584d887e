/**
 * `npm start`: a local Kafka broker, a synthetic cluster writing EventRouter envelopes to
 * cluster-events, and two topologies on it: examples/events-fanout.yaml fanning them out per
 * namespace, and examples/warning-counts.yaml counting Warnings per namespace, reason and
 * minute (exactly-once, state in LMDB). Each topology's live page is served on loopback
 * (warning-counts at DEMO_HTTP_PORT, 8080, events-fanout at the next port); the terminal keeps
 * one status line: throughput, dead letters and the busiest warning count of the latest minute,
 * read back from the warning-counts topic. Ctrl-C stops everything cleanly.
 *
 * KAFKA_BROKERS=host:port uses that broker instead; DEMO_RATE sets envelopes per second;
 * LOG_LEVEL (default warn) the topologies' logs.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { adminConfig } from '../../connectors/kafka/client-config.js'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { createLogger } from '../../core/logger.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { ClusterEventGenerator } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import { loadTopologyFile } from '../../topology/load.js'
import { demoUrl, serveTopologyPage, statusLine } from './demo-console.js'
import { followLatest } from './follow-topic.js'
import { demoBroker } from './kafka-broker.js'

const SOURCE_TOPIC = 'cluster-events'
const PREFIX = 'events.'
const rate = Number(process.env.DEMO_RATE ?? 2000)
const topologyFile = fileURLToPath(new URL('../../examples/events-fanout.yaml', import.meta.url))
const countsFile = fileURLToPath(new URL('../../examples/warning-counts.yaml', import.meta.url))
const COUNTS_TOPIC = 'warning-counts'

async function main(): Promise<void> {
  const { brokers, broker } = await demoBroker()
  console.log(`Kafka at ${brokers}; creating ${SOURCE_TOPIC} (6 partitions)`)
  const admin = new TopicAdmin(adminConfig({ bootstrapServers: brokers }, 'demo'))
  await admin.ensureTopic(SOURCE_TOPIC, { partitions: 6, replicationFactor: 1 })
  admin.close()

  const logLevel = process.env.LOG_LEVEL ?? 'warn'
  const countsGraph = loadTopologyFile(countsFile, { ...process.env, SOURCE_TOPIC, OUTPUT_TOPIC: COUNTS_TOPIC })
  const counts = new KubeStream(countsGraph, {
    logger: createLogger('warning-counts', logLevel),
    stateDir: mkdtempSync(join(tmpdir(), 'kubestream-demo-')),
    advertisedUrl: demoUrl(0),
  })
  const graph = loadTopologyFile(topologyFile, { ...process.env, TOPIC_PREFIX: PREFIX, SOURCE_TOPIC })
  const stream = new KubeStream(graph, { logger: createLogger('events-fanout', logLevel) })
  const servers = [await serveTopologyPage(counts, 0), await serveTopologyPage(stream, 1)]
  await counts.start()
  await stream.start()
  const latest = await followLatest<WindowedCount>(brokers, COUNTS_TOPIC)

  const writer = await EnvelopeWriter.connect(brokers, SOURCE_TOPIC)
  const generator = new ClusterEventGenerator({ seed: Date.now() % 100_000 })
  let producing = true
  const feeding = feed(writer, generator, () => producing)
  const status = statusLine()
  const report = startReport(stream, latest.latest, status)

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.log('\nstopping: generator, then both topologies (flush + commit), then the broker')
    producing = false
    clearInterval(report)
    status.end()
    for (const server of servers) server.close()
    let code = 0
    try {
      await feeding
      await writer.flush()
      await writer.close()
      await stream.stop()
      await counts.stop()
      await latest.close()
    } catch (error) {
      console.error('clean stop failed:', error)
      code = 1
    }
    await broker?.stop()
    process.exit(code)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())
  for (const [name, running] of [
    ['events-fanout', stream],
    ['warning-counts', counts],
  ] as const) {
    running.done.catch(async (error: unknown) => {
      console.error(`${name} stopped by a fault:`, error)
      await stop()
    })
  }
  console.log(`topology pages: warning-counts ${demoUrl(0)}/  events-fanout ${demoUrl(1)}/`)
  console.log(`feeding ${rate} envelopes/s; Ctrl-C to stop`)
}

/** Writes `rate` envelopes per second in 10 slices per second. */
async function feed(writer: EnvelopeWriter, generator: ClusterEventGenerator, running: () => boolean): Promise<void> {
  const perTick = Math.max(1, Math.round(rate / 10))
  while (running()) {
    const started = Date.now()
    for (let i = 0; i < perTick; i++) await writer.write(generator.next())
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))))
  }
}

interface WindowedCount {
  key: string
  windowStart: number
  value: number
}

/** The busiest key of the latest window seen. */
function topOfLatestWindow(counts: Map<string, WindowedCount>): string {
  let top: WindowedCount | undefined
  for (const count of counts.values()) {
    if (
      !top ||
      count.windowStart > top.windowStart ||
      (count.windowStart === top.windowStart && count.value > top.value)
    )
      top = count
  }
  if (!top) return 'no warning counted yet'
  return `top warning ${new Date(top.windowStart).toISOString().slice(11, 16)} UTC: ${top.key} ${top.value}`
}

function startReport(
  stream: KubeStream,
  counts: Map<string, WindowedCount>,
  status: ReturnType<typeof statusLine>,
): NodeJS.Timeout {
  let lastIn = 0
  let lastOut = 0
  return setInterval(() => {
    const { consumedByTopic, producedByTopic, deadLetters } = stream.counters
    const totalIn = sum(consumedByTopic.values())
    const perNamespace = [...producedByTopic].filter(([topic]) => topic.startsWith(PREFIX))
    const totalOut = sum(perNamespace.map(([, n]) => n))
    const dlq = sum(deadLetters.values())
    status.show(
      `in ${totalIn - lastIn}/s  out ${totalOut - lastOut}/s to ${perNamespace.length} namespaces  dlq ${dlq}  ` +
        `${topOfLatestWindow(counts)}`,
    )
    lastIn = totalIn
    lastOut = totalOut
  }, 1000)
}

function sum(values: Iterable<number>): number {
  let total = 0
  for (const v of values) total += v
  return total
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
