/**
 * What the benchmarks write before a contender runs: generated EventRouter envelopes, and a
 * count store's keys (as its changelog, or as one input record each). Every benchmark writes the
 * same data for the same sizes, so their figures compare.
 */
import Kafka from 'node-rdkafka'
import { partitionForKey } from '../connectors/kafka/key-partition.js'
import { ClusterEventGenerator } from '../simulators/cluster-events.js'
import { EnvelopeWriter } from '../simulators/envelope-writer.js'
import { progress } from './harness.js'

/** Writes `count` envelopes (seed 42, 0.1% malformed); returns their bytes. */
export async function preloadEnvelopes(brokers: string, topic: string, count: number): Promise<number> {
  const writer = await EnvelopeWriter.connect(brokers, topic)
  const generator = new ClusterEventGenerator({ seed: 42, malformedRate: 0.001 })
  const report = progress('pre-loading envelopes', count)
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const envelope = generator.next()
    bytes += envelope.value.length
    await writer.write(envelope)
    report(i + 1)
  }
  await writer.flush(300_000)
  await writer.close()
  return bytes
}

/** The i-th of a count store's keys. */
export function storeKey(i: number): string {
  return `namespace-${i % 500}/pod-${i.toString(36).padStart(6, '0')}`
}

/** A count store's changelog as kubestream writes it: `keys` keys → their JSON counts. */
export function preloadChangelog(brokers: string, topic: string, keys: number, partitions: number): Promise<void> {
  return produceKeys(brokers, topic, keys, partitions, 'pre-loading changelog keys', (i) =>
    Buffer.from(String(storeValue(i))),
  )
}

/** The count pre-loaded for the i-th key. */
export function storeValue(i: number): number {
  return 1 + (i % 97)
}

/** One input record per store key, so counting them reads and writes every key. */
export function preloadKeyedInput(brokers: string, topic: string, keys: number, partitions: number): Promise<void> {
  return produceKeys(brokers, topic, keys, partitions, 'pre-loading one input record per key', () => Buffer.from('{}'))
}

async function produceKeys(
  brokers: string,
  topic: string,
  keys: number,
  partitions: number,
  label: string,
  value: (i: number) => Buffer,
): Promise<void> {
  const producer = new Kafka.Producer(
    {
      'bootstrap.servers': brokers,
      'linger.ms': 50,
      'batch.num.messages': 10_000,
      'queue.buffering.max.messages': 500_000,
    },
    // A topic-level property: see producerConfigs.
    { 'compression.type': 'lz4' },
  )
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 30_000 }, (e) => (e ? reject(e) : resolve())),
  )
  producer.setPollInterval(50)
  const report = progress(label, keys)
  for (let i = 0; i < keys; i++) {
    for (;;) {
      try {
        const key = storeKey(i)
        // Where kubestream's own producer would put the key, so queries find it (partitionForKey).
        producer.produce(topic, partitionForKey(key, partitions), value(i), key, Date.now())
        break
      } catch {
        producer.poll()
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
    report(i + 1)
  }
  await new Promise<void>((resolve, reject) => producer.flush(300_000, (e) => (e ? reject(e) : resolve())))
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
}
