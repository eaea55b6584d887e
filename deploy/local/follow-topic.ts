import Kafka from 'node-rdkafka'

/**
 * Follows a topic as a downstream consumer would (read_committed, so only committed
 * transactions), keeping the last value per key: what the demos print from.
 */
export async function followLatest<T>(
  brokers: string,
  topic: string,
): Promise<{ latest: Map<string, T>; close: () => Promise<void> }> {
  const consumer = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': brokers,
      'group.id': `demo-reader-${topic}-${Date.now()}`,
      'isolation.level': 'read_committed',
      'enable.auto.commit': false,
    },
    { 'auto.offset.reset': 'earliest' },
  )
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30_000 }, (error) => (error ? reject(error) : resolve())),
  )
  consumer.subscribe([topic])
  const latest = new Map<string, T>()
  consumer.on('data', (message) => {
    if (message.value) latest.set(String(message.key), JSON.parse(message.value.toString()) as T)
  })
  consumer.consume()
  return { latest, close: () => new Promise((resolve) => consumer.disconnect(() => resolve())) }
}
