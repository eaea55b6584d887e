import Kafka from 'node-rdkafka'
import { queryWatermarks } from '../connectors/kafka/query-watermarks.js'
import { TopicAdmin } from '../connectors/kafka/topic-admin.js'

/*
 * What the tests and the benchmarks do to a broker's topics from outside the engine: create,
 * delete and list them, read their offsets, the offsets a group committed, and their records back.
 */

// librdkafka's logical offset for a partition's first retained record.
const OFFSET_BEGINNING = -2

export interface ReadMessage {
  topic: string
  partition: number
  offset: number
  key: string | null
  value: Buffer
  headers: Record<string, string>
  /** Epoch ms: the producer's time, or the broker's append time on a LogAppendTime topic. */
  timestamp: number
}

export async function createTopic(
  brokers: string,
  topic: string,
  partitions: number,
  config?: Record<string, string>,
): Promise<void> {
  const admin = new TopicAdmin({ 'bootstrap.servers': brokers })
  try {
    await admin.ensureTopic(topic, { partitions, replicationFactor: 1, config })
  } finally {
    admin.close()
  }
}

/** Deletes a topic and waits until it is gone from metadata. */
export async function deleteTopic(brokers: string, topic: string): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': brokers })
  try {
    await new Promise<void>((resolve, reject) => admin.deleteTopic(topic, 30_000, (e) => (e ? reject(e) : resolve())))
  } finally {
    admin.disconnect()
  }
  for (let attempt = 0; attempt < 100 && (await listTopics(brokers, topic)).includes(topic); attempt++)
    await new Promise((resolve) => setTimeout(resolve, 200))
}

/**
 * Runs calls on a fresh consumer that never joins a group (node-rdkafka, so it speaks Kafka 4.x).
 * Reads right after a topic or group appears can hit leader or coordinator elections: retried.
 */
async function withConsumer<T>(
  brokers: string,
  groupId: string,
  action: (consumer: Kafka.KafkaConsumer) => Promise<T>,
  attempts = 20,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_committed',
): Promise<T> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': brokers, 'group.id': groupId, 'enable.auto.commit': false, 'isolation.level': isolation },
    {},
  )
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 20_000 }, (e) => (e ? reject(e) : resolve())),
  )
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await action(consumer)
      } catch (error) {
        if (attempt >= attempts) throw error
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
}

function metadata(consumer: Kafka.KafkaConsumer, topic?: string): Promise<Kafka.Metadata> {
  return new Promise((resolve, reject) => {
    consumer.getMetadata({ topic, allTopics: topic === undefined, timeout: 10_000 }, (e, m) =>
      e ? reject(e) : resolve(m),
    )
  })
}

async function partitionsOf(consumer: Kafka.KafkaConsumer, topic: string): Promise<number[]> {
  const found = (await metadata(consumer, topic)).topics.find((t) => t.name === topic)
  if (!found || found.partitions.length === 0) throw new Error(`topic ${topic} has no partitions (yet)`)
  return found.partitions.map((p) => p.id).sort((a, b) => a - b)
}

/** Topic names on the broker that start with a prefix. */
export function listTopics(brokers: string, prefix: string): Promise<string[]> {
  return withConsumer(brokers, 'kubestream-inspection', async (consumer) =>
    (await metadata(consumer)).topics
      .map((t) => t.name)
      .filter((t) => t.startsWith(prefix))
      .sort(),
  )
}

/**
 * End offset per partition as a read_committed reader sees it: the last stable offset (the high
 * watermark when no transaction is open).
 */
export async function endOffsets(brokers: string, topic: string): Promise<Map<number, number>> {
  return new Map([...(await watermarks(brokers, topic))].map(([partition, { highOffset }]) => [partition, highOffset]))
}

/** Each partition's log start offset: below it, records were deleted (by retention or DeleteRecords). */
export async function startOffsets(brokers: string, topic: string): Promise<Map<number, number>> {
  return new Map([...(await watermarks(brokers, topic))].map(([partition, { lowOffset }]) => [partition, lowOffset]))
}

/**
 * Partitions of `topic` in which a transaction is still open: their last stable offset (the end
 * a read_committed reader sees) is below their high watermark.
 */
export async function partitionsInTransaction(brokers: string, topic: string): Promise<number[]> {
  const [stable, ends] = await Promise.all([endOffsets(brokers, topic), watermarks(brokers, topic, 'read_uncommitted')])
  return [...ends].filter(([partition, { highOffset }]) => (stable.get(partition) ?? 0) < highOffset).map(([p]) => p)
}

/** Ends as a read_committed reader sees them (last stable offsets) unless asked for read_uncommitted's. */
function watermarks(
  brokers: string,
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_committed',
): Promise<Map<number, Kafka.WatermarkOffsets>> {
  return withConsumer(
    brokers,
    'kubestream-inspection',
    async (consumer) => {
      const out = new Map<number, Kafka.WatermarkOffsets>()
      for (const partition of await partitionsOf(consumer, topic))
        out.set(partition, await queryWatermarks(consumer, topic, partition, 10_000))
      return out
    },
    20,
    isolation,
  )
}

/** The group's committed offset per partition (-1 where none). Reads without joining the group. */
export function committedOffsets(brokers: string, groupId: string, topic: string): Promise<Map<number, number>> {
  return withConsumer(brokers, groupId, async (consumer) => {
    const toppars = (await partitionsOf(consumer, topic)).map((partition) => ({ topic, partition }))
    const committed = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
      consumer.committed(toppars, 10_000, (e, o) => (e ? reject(e) : resolve(o))),
    )
    return new Map(committed.map((p) => [p.partition, p.offset !== undefined && p.offset >= 0 ? p.offset : -1]))
  })
}

/**
 * Every message now in the topics, read by partition assignment (no group), in offset order per
 * partition. `readCommitted` reads as a downstream exactly-once consumer would: records of
 * aborted transactions are skipped. A partition is done at its end-of-partition event (the last
 * offsets of a transactional topic are markers, which are never delivered).
 */
export async function readTopics(
  brokers: string,
  topics: string[],
  options: { timeoutMs?: number; readCommitted?: boolean } = {},
): Promise<ReadMessage[]> {
  const targets: Array<{ topic: string; partition: number; high: number }> = []
  for (const topic of topics) {
    for (const [partition, high] of await endOffsets(brokers, topic))
      if (high > 0) targets.push({ topic, partition, high })
  }
  if (targets.length === 0) return []
  const consumer = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': brokers,
      'group.id': `reader-${process.hrtime.bigint()}`,
      'enable.auto.commit': false,
      'enable.partition.eof': true,
      'isolation.level': options.readCommitted ? 'read_committed' : 'read_uncommitted',
    },
    // A purged or retention-trimmed partition starts above 0: read from its start, never skip to its end.
    { 'auto.offset.reset': 'earliest' },
  )
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 20_000 }, (e) => (e ? reject(e) : resolve())),
  )
  const remaining = new Map(targets.map((t) => [`${t.topic}/${t.partition}`, t.high]))
  consumer.on('partition.eof', ({ topic, partition, offset }) => {
    if (offset >= (remaining.get(`${topic}/${partition}`) ?? Infinity)) remaining.delete(`${topic}/${partition}`)
  })
  consumer.assign(targets.map(({ topic, partition }) => ({ topic, partition, offset: OFFSET_BEGINNING })))
  consumer.setDefaultConsumeTimeout(200)
  const out: ReadMessage[] = []
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  try {
    while (remaining.size > 0) {
      if (Date.now() > deadline)
        throw new Error(`reading ${topics.join(',')} timed out; ${remaining.size} partitions unfinished`)
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) =>
        consumer.consume(2000, (e, m) => (e ? reject(e) : resolve(m))),
      )
      for (const m of batch) {
        out.push({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          key: m.key === undefined || m.key === null ? null : m.key.toString(),
          value: m.value ?? Buffer.alloc(0),
          timestamp: m.timestamp ?? -1,
          headers: Object.fromEntries(
            (m.headers ?? []).flatMap((h) => Object.entries(h).map(([k, v]) => [k, v.toString()])),
          ),
        })
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
  return out
}
