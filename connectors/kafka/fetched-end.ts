import type Kafka from 'node-rdkafka'

/**
 * A partition's end (high watermark) as the consumer's last fetch of it reported, without a
 * request to the broker; undefined before the first fetch.
 */
export function fetchedEnd(consumer: Kafka.KafkaConsumer, topic: string, partition: number): number | undefined {
  try {
    const { highOffset } = consumer.getWatermarkOffsets(topic, partition)
    return highOffset >= 0 ? highOffset : undefined
  } catch {
    return undefined
  }
}
