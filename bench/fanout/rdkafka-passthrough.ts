/**
 * Contender (a), the ceiling: node-rdkafka consume → produce of the same key and bytes to one
 * topic, no parsing, no routing. Nothing can drain the topic faster through these clients.
 */
import Kafka from 'node-rdkafka'
import { benchEnv, reportResult } from './report.js'

const env = benchEnv()
const outputTopic = `${env.outputPrefix}passthrough`

const consumer = new Kafka.KafkaConsumer(
  {
    'bootstrap.servers': env.brokers,
    'group.id': env.groupId,
    'enable.auto.commit': false,
    'max.partition.fetch.bytes': 4 * 1024 * 1024,
  },
  { 'auto.offset.reset': 'earliest' },
)
const producer = new Kafka.Producer({
  'bootstrap.servers': env.brokers,
  'linger.ms': 20,
  'batch.num.messages': 10_000,
  'batch.size': 1_000_000,
  'queue.buffering.max.messages': 500_000,
  'queue.buffering.max.kbytes': 1_048_576,
  'compression.type': 'lz4',
  dr_cb: false,
})
await new Promise<void>((resolve, reject) => consumer.connect({}, (e) => (e ? reject(e) : resolve())))
await new Promise<void>((resolve, reject) => producer.connect({}, (e) => (e ? reject(e) : resolve())))
producer.setPollInterval(50)
consumer.subscribe([env.sourceTopic])
consumer.setDefaultConsumeTimeout(100)

let records = 0
let bytes = 0
let started = 0
const deadline = Date.now() + env.maxSeconds * 1000
while (records < env.records && Date.now() < deadline) {
  const messages = await new Promise<Kafka.Message[]>((resolve, reject) =>
    consumer.consume(5000, (e, m) => (e ? reject(e) : resolve(m))),
  )
  if (messages.length > 0 && started === 0) started = performance.now()
  for (const message of messages) {
    for (;;) {
      try {
        producer.produce(outputTopic, null, message.value, message.key)
        break
      } catch {
        producer.poll()
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    }
    bytes += message.value?.length ?? 0
  }
  records += messages.length
}
await new Promise<void>((resolve, reject) => producer.flush(60_000, (e) => (e ? reject(e) : resolve())))
const elapsedMs = performance.now() - started
consumer.commitSync(null)
reportResult({ name: 'node-rdkafka pass-through (ceiling)', records, bytes, elapsedMs, partial: records < env.records })
await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
process.exit(0)
