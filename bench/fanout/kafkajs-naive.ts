/**
 * Contender (b), what teams write first: kafkajs `eachMessage`, JSON.parse the envelope, and
 * `await producer.send` to the namespace's topic — the shape of kafkajs' own README example.
 * Stopped at BENCH_MAX_SECONDS if slower than that; its rate is then over what it drained.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { benchEnv, reportResult } from './report.js'

/** The EventRouter envelope's fields this loop reads. */
interface Envelope {
  verb: string
  event: { metadata: { namespace: string; uid: string } }
}

const env = benchEnv()
const kafka = new Kafka({ brokers: env.brokers.split(','), clientId: 'bench-kafkajs', logLevel: logLevel.NOTHING })
const consumer = kafka.consumer({ groupId: env.groupId, maxBytesPerPartition: 4 * 1024 * 1024 })
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
await Promise.all([consumer.connect(), producer.connect()])
await consumer.subscribe({ topic: env.sourceTopic, fromBeginning: true })

let records = 0
let bytes = 0
let started = 0
let finish: () => void
const finished = new Promise<void>((resolve) => (finish = resolve))
const deadline = Date.now() + env.maxSeconds * 1000

await consumer.run({
  eachMessage: async ({ message }) => {
    if (started === 0) started = performance.now()
    records++
    bytes += message.value?.length ?? 0
    try {
      const envelope = JSON.parse(message.value!.toString()) as Envelope
      await producer.send({
        topic: `${env.outputPrefix}${envelope.event.metadata.namespace}`,
        messages: [{ key: envelope.event.metadata.uid, value: message.value, headers: { verb: envelope.verb } }],
      })
    } catch {
      // the naive loop skips what it cannot parse
    }
    if (records >= env.records || Date.now() > deadline) finish()
  },
})
await finished
const elapsedMs = performance.now() - started
reportResult({
  name: 'kafkajs eachMessage → JSON.parse → send',
  records,
  bytes,
  elapsedMs,
  partial: records < env.records,
})
await consumer.disconnect()
await producer.disconnect()
process.exit(0)
