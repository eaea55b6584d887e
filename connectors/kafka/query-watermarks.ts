import type Kafka from 'node-rdkafka'
import { setTimeout as sleep } from 'node:timers/promises'

/** What a broker's answer may take, each time it is asked. */
const REQUEST_TIMEOUT_MS = 10_000

/**
 * A partition's low and high watermarks, asked of its leader. Asked again, with a growing pause,
 * while the broker cannot answer (a broker restarting, the leader moving): the callers — a
 * commit's checkpoint, a restore's end — would otherwise turn a broker's minute away into a
 * stopped replica. The last failure is thrown once `timeoutMs` has passed.
 */
export async function queryWatermarks(
  client: Kafka.Producer | Kafka.KafkaConsumer,
  topic: string,
  partition: number,
  timeoutMs = 60_000,
): Promise<Kafka.WatermarkOffsets> {
  const deadline = Date.now() + timeoutMs
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<Kafka.WatermarkOffsets>(
        (resolve, reject) =>
          void client.queryWatermarkOffsets(topic, partition, REQUEST_TIMEOUT_MS, (error, offsets) =>
            error ? reject(error) : resolve(offsets),
          ),
      )
    } catch (error) {
      if (Date.now() >= deadline) throw error
      await sleep(Math.min(100 * attempt, 1_000))
    }
  }
}
