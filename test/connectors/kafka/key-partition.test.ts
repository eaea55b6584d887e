import { murmur2 } from '@platformatic/kafka'
import { describe, expect, inject, it } from 'vitest'
import { adminConfig, producerConfig } from '../../../connectors/kafka/client-config.js'
import { partitionForKey } from '../../../connectors/kafka/key-partition.js'
import { RdkafkaRecordCollector } from '../../../connectors/kafka/rdkafka-record-collector.js'
import { TopicAdmin } from '../../../connectors/kafka/topic-admin.js'
import { mulberry32 } from '../../../simulators/cluster-events.js'
import { readTopics } from '../../../simulators/kafka-topics.js'

describe('partitionForKey', () => {
  it("hashes as Kafka's Java clients do (Utils.murmur2 test vectors)", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2, made positive and taken modulo 1000.
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ]
    for (const [key, hash] of vectors) expect(partitionForKey(key, 1000)).toBe((hash & 0x7fffffff) % 1000)
  })

  it("agrees with another implementation of Kafka's murmur2 on random keys of every tail length", () => {
    const random = mulberry32(5)
    for (let i = 0; i < 5_000; i++) {
      const key = Buffer.from(Array.from({ length: i % 41 }, () => Math.floor(random() * 256)))
      expect(partitionForKey(key, 2_147_483_647)).toBe((murmur2(key) & 0x7fffffff) % 2_147_483_647)
    }
  })

  it("names the partition kubestream's producer writes each key to", async () => {
    const brokers = inject('kafkaBrokers')
    const topic = `key-partition-${Date.now().toString(36)}`
    const admin = new TopicAdmin(adminConfig({ bootstrapServers: brokers }, 'key-partition-test'))
    const collector = await RdkafkaRecordCollector.connect(
      producerConfig({ bootstrapServers: brokers }, 'key-partition-test'),
      admin,
    )
    const keys = Array.from({ length: 200 }, (_, i) => `namespace-${i}/BackOff`)
    try {
      await collector.ensureTopic(topic, { partitions: 7 })
      for (const key of keys)
        collector.send({ topic, key, value: Buffer.from('{}'), headers: undefined, timestamp: Date.now() })
      await collector.flush(30_000)
    } finally {
      await collector.close()
      admin.close()
    }
    const landed = await readTopics(brokers, [topic])
    expect(landed).toHaveLength(keys.length)
    for (const { key, partition } of landed)
      expect({ key, partition }).toEqual({ key, partition: partitionForKey(key!, 7) })
  }, 60_000)
})
