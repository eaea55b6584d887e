import { type Admin, Kafka as KafkaJs, logLevel } from 'kafkajs'
import Kafka from 'node-rdkafka'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'

export interface ReadMessage {
  topic: string
  partition: number
  offset: number
  key: string | null
  value: Buffer
  headers: Record<string, string>
}

export function kafkajs(brokers: string): KafkaJs {
  return new KafkaJs({ brokers: brokers.split(','), clientId: 'kubestream-tests', logLevel: logLevel.NOTHING })
}

/** Admin reads right after a topic or group appears can hit leader/coordinator elections; retry those. */
async function retrying<T>(action: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action()
    } catch (error) {
      if (attempt >= attempts || (error as { retriable?: boolean }).retriable !== true) throw error
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}

export async function createTopic(brokers: string, topic: string, partitions: number): Promise<void> {
  const admin = new TopicAdmin({ 'bootstrap.servers': brokers })
  try {
    await admin.ensureTopic(topic, { partitions, replicationFactor: 1 })
  } finally {
    admin.close()
  }
}

/** Runs admin calls on a fresh kafkajs admin, retrying the errors Kafka marks retriable. */
function withAdmin<T>(brokers: string, action: (admin: Admin) => Promise<T>): Promise<T> {
  return retrying(async () => {
    const admin = kafkajs(brokers).admin()
    await admin.connect()
    try {
      return await action(admin)
    } finally {
      await admin.disconnect()
    }
  })
}

/** Topic names on the broker that start with a prefix. */
export function listTopics(brokers: string, prefix: string): Promise<string[]> {
  return withAdmin(brokers, async (admin) => (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort())
}

/** High watermark per partition. */
export function endOffsets(brokers: string, topic: string): Promise<Map<number, number>> {
  return withAdmin(brokers, async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)])))
}

/** The group's committed offset per partition (-1 where none). */
export function committedOffsets(brokers: string, groupId: string, topic: string): Promise<Map<number, number>> {
  return withAdmin(brokers, async (admin) => {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return new Map(result.partitions.map((p) => [p.partition, Number(p.offset)]))
  })
}

/** Every message now in the topics, read by partition assignment (no group), in offset order per partition. */
export async function readTopics(brokers: string, topics: string[], timeoutMs = 60_000): Promise<ReadMessage[]> {
  const targets: Array<{ topic: string; partition: number; high: number }> = []
  for (const topic of topics) {
    for (const [partition, high] of await endOffsets(brokers, topic)) if (high > 0) targets.push({ topic, partition, high })
  }
  if (targets.length === 0) return []
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': `reader-${process.hrtime.bigint()}`, 'enable.auto.commit': false }, {})
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 20_000 }, (e) => (e ? reject(e) : resolve())))
  consumer.assign(targets.map(({ topic, partition }) => ({ topic, partition, offset: 0 })))
  consumer.setDefaultConsumeTimeout(200)
  const remaining = new Map(targets.map((t) => [`${t.topic}/${t.partition}`, t.high]))
  const out: ReadMessage[] = []
  const deadline = Date.now() + timeoutMs
  try {
    while (remaining.size > 0) {
      if (Date.now() > deadline) throw new Error(`reading ${topics.join(',')} timed out; ${remaining.size} partitions unfinished`)
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(2000, (e, m) => (e ? reject(e) : resolve(m))))
      for (const m of batch) {
        out.push({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          key: m.key === undefined || m.key === null ? null : m.key.toString(),
          value: m.value ?? Buffer.alloc(0),
          headers: Object.fromEntries((m.headers ?? []).flatMap((h) => Object.entries(h).map(([k, v]) => [k, v.toString()]))),
        })
        const id = `${m.topic}/${m.partition}`
        if (m.offset + 1 >= (remaining.get(id) ?? Infinity)) remaining.delete(id)
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
  return out
}
