import { murmur2 } from '@platformatic/kafka'

/**
 * The partition a key lands on with Kafka's default partitioner: murmur2 of the key's bytes,
 * made positive, modulo the partition count — what Kafka's Java clients (and so Kafka Streams)
 * and our producers (librdkafka's `murmur2_random`) all compute, so it names the task, and the
 * store partition, that holds the key.
 */
export function partitionForKey(key: string | Buffer, partitions: number): number {
  return (murmur2(Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions
}
