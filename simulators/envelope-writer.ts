import Kafka from 'node-rdkafka'
import { KafkaError } from '../connectors/kafka/kafka-error.js'
import type { GeneratedEnvelope } from './cluster-events.js'

/**
 * Writes generated envelopes to a topic as the event router would (key = involved object's
 * name), for the demo, the tests and the benchmark.
 */
export class EnvelopeWriter {
  private failure: Error | undefined

  private constructor(
    private readonly producer: Kafka.Producer,
    readonly topic: string,
  ) {
    producer.on('delivery-report', (error) => {
      if (error) this.failure ??= new KafkaError('DELIVERY', error.message)
    })
  }

  static async connect(brokers: string, topic: string): Promise<EnvelopeWriter> {
    const producer = new Kafka.Producer({
      'bootstrap.servers': brokers,
      'client.id': 'kubestream-envelope-writer',
      'linger.ms': 20,
      'batch.num.messages': 10_000,
      'queue.buffering.max.messages': 200_000,
      'queue.buffering.max.kbytes': 1_048_576,
      'enable.idempotence': true,
      dr_cb: true,
    })
    await new Promise<void>((resolve, reject) =>
      producer.connect({ timeout: 30_000 }, (error) =>
        error ? reject(new KafkaError('CONNECT', error.message)) : resolve(),
      ),
    )
    producer.setPollInterval(50)
    return new EnvelopeWriter(producer, topic)
  }

  /** Queues one envelope, waiting for room when librdkafka's queue is full. */
  async write(envelope: GeneratedEnvelope, partition: number | null = null): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure
      try {
        this.producer.produce(this.topic, partition, envelope.value, envelope.key, Date.now())
        return
      } catch (error) {
        if ((error as { code?: number }).code !== Kafka.CODES.ERRORS.ERR__QUEUE_FULL) throw error
        this.producer.poll()
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
  }

  flush(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) =>
      this.producer.flush(timeoutMs, (error) =>
        error ? reject(error) : this.failure ? reject(this.failure) : resolve(),
      ),
    )
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.producer.disconnect(5_000, () => resolve()))
  }
}
