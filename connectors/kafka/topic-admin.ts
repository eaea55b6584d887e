import Kafka from 'node-rdkafka'
import type { TopicSpec } from '../../core/record-collector.js'
import type { LibrdkafkaConfig } from './client-config.js'
import { KafkaError } from './kafka-error.js'

const { AdminClient, CODES } = Kafka

/**
 * Creates topics before anything is written to them; the engine never relies on broker
 * auto-creation. Uses librdkafka's admin API so SASL/TLS settings are the same as the clients'.
 */
export class TopicAdmin {
  private readonly client: Kafka.IAdminClient

  constructor(
    config: LibrdkafkaConfig,
    private readonly timeoutMs = 30_000,
  ) {
    this.client = AdminClient.create(config)
  }

  /** Creates the topic unless it exists; partitions and replication default to the broker's. */
  ensureTopic(topic: string, spec: TopicSpec = {}): Promise<void> {
    const config = Object.fromEntries(Object.entries(spec.config ?? {}).map(([k, v]) => [k, String(v)]))
    return new Promise((resolve, reject) => {
      this.client.createTopic(
        { topic, num_partitions: spec.partitions ?? -1, replication_factor: spec.replicationFactor ?? -1, config },
        this.timeoutMs,
        (error) => {
          if (!error || error.code === CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) resolve()
          else
            reject(new KafkaError('CREATE_TOPIC', `cannot create topic ${topic}: ${error.message}`, { cause: error }))
        },
      )
    })
  }

  close(): void {
    this.client.disconnect()
  }
}
