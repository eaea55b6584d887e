/**
 * The partition a key lands on with Kafka's default partitioner: murmur2 of the key's bytes,
 * made positive, modulo the partition count — what Kafka's Java clients (and so Kafka Streams)
 * and our producers (librdkafka's `murmur2_random`) all compute, so it names the task, and the
 * store partition, that holds the key.
 */
export function partitionForKey(key: string | Buffer, partitions: number): number {
  return (murmur2(Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions
}

/**
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2: seed 0x9747b28c, 4-byte little-endian
 * words), in 32-bit integer arithmetic. Ours rather than a client library's: it is the one function
 * of one that would otherwise be loaded whole.
 */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995
  const length = data.length
  let h = (0x9747b28c ^ length) | 0
  const words = length >> 2
  for (let i = 0; i < words; i++) {
    let k = data.readInt32LE(i * 4)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  // The last 1–3 bytes, as Kafka folds them in (its switch falls through from 3 to 1).
  const tail = words * 4
  const left = length & 3
  if (left === 3) h ^= data[tail + 2] << 16
  if (left >= 2) h ^= data[tail + 1] << 8
  if (left >= 1) {
    h ^= data[tail]
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h
}
