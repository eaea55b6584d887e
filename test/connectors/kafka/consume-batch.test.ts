import Kafka from 'node-rdkafka'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { consumeBatch, messagesOf } from '../../../connectors/kafka/consume-batch.js'
import { createTopic } from '../../../simulators/kafka-topics.js'

const brokers = inject('kafkaBrokers')
const topic = `consume-batch-${randomBytes(3).toString('hex')}`
const TIMESTAMP = 1_700_000_000_123
/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2

/** Records that cover what a message can carry: no key, no value, headers, any byte, several partitions. */
const RECORDS: Array<{ partition: number; key: Buffer | null; value: Buffer | null; headers?: Kafka.MessageHeader[] }> =
  [
    {
      partition: 0,
      key: Buffer.from('k1'),
      value: Buffer.from('v1'),
      headers: [{ a: 'x' }, { b: 'ü' }],
    },
    { partition: 0, key: null, value: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
    { partition: 1, key: Buffer.from('tombstone'), value: null },
    { partition: 1, key: Buffer.from('ünïcode'), value: Buffer.from('{"big":"' + 'x'.repeat(5_000) + '"}') },
  ]

async function produceRecords(): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers })
  await new Promise<void>((resolve, reject) => producer.connect({}, (error) => (error ? reject(error) : resolve())))
  for (const { partition, key, value, headers } of RECORDS)
    producer.produce(topic, partition, value, key, TIMESTAMP, undefined, headers)
  await new Promise<void>((resolve, reject) => producer.flush(10_000, (error) => (error ? reject(error) : resolve())))
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
}

/** A consumer assigned both partitions from the start, which reports each partition's end. */
async function assignedConsumer(): Promise<Kafka.KafkaConsumer> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': brokers, 'group.id': `${topic}-reader`, 'enable.partition.eof': true },
    {},
  )
  await new Promise<void>((resolve, reject) => consumer.connect({}, (error) => (error ? reject(error) : resolve())))
  consumer.assign([0, 1].map((partition) => ({ topic, partition, offset: OFFSET_BEGINNING })))
  return consumer
}

/** Reads with `read` until both partitions reported their end: the messages and the ends, in order. */
async function readAll(
  consumer: Kafka.KafkaConsumer,
  read: (callback: (error: Kafka.LibrdKafkaError | null, messages: Kafka.Message[]) => void) => void,
): Promise<{ messages: Kafka.Message[]; ends: Array<{ partition: number; offset: number }> }> {
  const messages: Kafka.Message[] = []
  const ends: Array<{ partition: number; offset: number }> = []
  consumer.on('partition.eof', ({ partition, offset }) => ends.push({ partition, offset }))
  while (new Set(ends.map(({ partition }) => partition)).size < 2)
    messages.push(
      ...(await new Promise<Kafka.Message[]>((resolve, reject) =>
        read((error, batch) => (error ? reject(error) : resolve(batch))),
      )),
    )
  return { messages, ends }
}

const byPosition = (a: Kafka.Message, b: Kafka.Message) => a.partition - b.partition || a.offset - b.offset

describe('consumeBatch', () => {
  let flat: Kafka.KafkaConsumer
  let own: Kafka.KafkaConsumer

  beforeAll(async () => {
    await createTopic(brokers, topic, 2)
    await produceRecords()
    ;[flat, own] = await Promise.all([assignedConsumer(), assignedConsumer()])
  })
  afterAll(async () => {
    for (const consumer of [flat, own]) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  })

  it('runs on the binding that kubestream install patched', () => {
    const client = (flat as unknown as { _client: { consumeFlat?: unknown } })._client
    // Without it consumeBatch falls back to node-rdkafka's consume, and this suite would test that instead.
    expect(typeof client.consumeFlat, 'run `node connectors/kafka/binding/install.js`').toBe('function')
  })

  it("hands over the same messages and partition ends as node-rdkafka's own consume", async () => {
    const viaFlat = await readAll(flat, (callback) => consumeBatch(flat, 2, 1_000, callback))
    own.setDefaultConsumeTimeout(1_000)
    const viaOwn = await readAll(own, (callback) => own.consume(2, callback))

    expect(viaFlat.messages.sort(byPosition)).toEqual(viaOwn.messages.sort(byPosition))
    expect(viaFlat.ends.sort((a, b) => a.partition - b.partition)).toEqual(
      viaOwn.ends.sort((a, b) => a.partition - b.partition),
    )
    // And they are what was produced.
    expect(viaFlat.messages.map(({ key, value }) => ({ key, value }))).toEqual(
      [...RECORDS].sort((a, b) => a.partition - b.partition).map(({ key, value }) => ({ key, value })),
    )
    expect(viaFlat.messages.every(({ timestamp, topic: name }) => timestamp === TIMESTAMP && name === topic)).toBe(true)
    expect(viaFlat.messages[0].headers).toEqual([{ a: Buffer.from('x') }, { b: Buffer.from('ü') }])
    expect(viaFlat.messages[1].headers).toBeUndefined()
  })
})

describe('messagesOf', () => {
  it('views each value and key in the batch buffer, null where the length is -1', () => {
    const bytes = Buffer.from('k1v1v2')
    const messages = messagesOf(
      [0, 2, 2, 2, 't', 7, 0, 11, 2, undefined, 4, 2, 6, -1, 't', 8, 0, 12, 2, [{ h: Buffer.from('1') }]],
      bytes.subarray(0),
    )
    expect(messages).toEqual([
      { value: Buffer.from('k1'), key: Buffer.from('v1'), topic: 't', offset: 7, partition: 0, timestamp: 11, size: 2 },
      {
        value: Buffer.from('v2'),
        key: null,
        topic: 't',
        offset: 8,
        partition: 0,
        timestamp: 12,
        size: 2,
        headers: [{ h: Buffer.from('1') }],
      },
    ])
  })
})
