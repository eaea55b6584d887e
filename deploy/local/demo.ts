/**
 * `npm start`: a local Kafka broker, a synthetic cluster writing EventRouter envelopes to
 * cluster-events, and examples/events-fanout.yaml fanning them out per namespace, with a live
 * line of throughput and per-namespace totals. Ctrl-C stops everything cleanly.
 *
 * KAFKA_BROKERS=host:port uses that broker instead; DEMO_RATE sets envelopes per second.
 */
import { fileURLToPath } from 'node:url'
import { ClusterEventGenerator } from '../../connectors/generator/cluster-events.js'
import { EnvelopeWriter } from '../../connectors/generator/envelope-writer.js'
import { adminConfig } from '../../connectors/kafka/client-config.js'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { createLogger } from '../../runtime/logger.js'
import { loadTopologyFile } from '../../topology/load.js'
import { type LocalBroker, startLocalBroker } from './kafka-broker.js'

const SOURCE_TOPIC = 'cluster-events'
const PREFIX = 'events.'
const rate = Number(process.env.DEMO_RATE ?? 2000)
const topologyFile = fileURLToPath(new URL('../../examples/events-fanout.yaml', import.meta.url))

async function main(): Promise<void> {
  let broker: LocalBroker | undefined
  if (!process.env.KAFKA_BROKERS) {
    console.log('starting a local Kafka broker (first run resolves its jars with Maven)…')
    broker = await startLocalBroker()
    process.env.KAFKA_BROKERS = broker.brokers
  }
  const brokers = process.env.KAFKA_BROKERS
  console.log(`Kafka at ${brokers}; creating ${SOURCE_TOPIC} (6 partitions)`)
  const admin = new TopicAdmin(adminConfig({ bootstrapServers: brokers }, 'demo'))
  await admin.ensureTopic(SOURCE_TOPIC, { partitions: 6, replicationFactor: 1 })
  admin.close()

  const graph = loadTopologyFile(topologyFile, { ...process.env, TOPIC_PREFIX: PREFIX, SOURCE_TOPIC })
  const stream = new KubeStream(graph, { logger: createLogger('events-fanout') })
  await stream.start()

  const writer = await EnvelopeWriter.connect(brokers, SOURCE_TOPIC)
  const generator = new ClusterEventGenerator({ seed: Date.now() % 100_000 })
  let producing = true
  const feeding = feed(writer, generator, () => producing)
  const report = startReport(stream)

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.log('\nstopping: generator, then events-fanout (flush + commit), then the broker')
    producing = false
    clearInterval(report)
    let code = 0
    try {
      await feeding
      await writer.flush()
      await writer.close()
      await stream.stop()
    } catch (error) {
      console.error('clean stop failed:', error)
      code = 1
    }
    await broker?.stop()
    process.exit(code)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  stream.done.catch(async (error: unknown) => {
    console.error('events-fanout stopped by a fault:', error)
    await stop()
  })
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

function startReport(stream: KubeStream): NodeJS.Timeout {
  let lastIn = 0
  let lastOut = 0
  return setInterval(() => {
    const { consumedByTopic, producedByTopic, deadLetters } = stream.counters
    const totalIn = sum(consumedByTopic.values())
    const perNamespace = [...producedByTopic].filter(([topic]) => topic.startsWith(PREFIX)).sort((a, b) => b[1] - a[1])
    const totalOut = sum(perNamespace.map(([, n]) => n))
    const dlq = sum(deadLetters.values())
    const namespaces = perNamespace.map(([topic, n]) => `${topic.slice(PREFIX.length)} ${n}`).join('  ')
    console.log(`in ${totalIn - lastIn}/s  out ${totalOut - lastOut}/s  dlq ${dlq}  | ${namespaces}`)
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
