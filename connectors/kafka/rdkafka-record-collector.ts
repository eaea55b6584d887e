import Kafka from 'node-rdkafka'
import type { DeliveryAck } from '../../operators/record.js'
import type { LibrdkafkaConfig } from './client-config.js'
import { KafkaError } from './kafka-error.js'
import type { OutgoingRecord, RecordCollector, TopicSpec } from './record-collector.js'
import type { TopicAdmin } from './topic-admin.js'

const { CODES } = Kafka

/** A record waiting for its topic to be created or for room in the producer queue. */
type Held = [OutgoingRecord, DeliveryAck]

/**
 * The RecordCollector over a node-rdkafka producer. Each produce carries its batch's
 * DeliveryAck as the opaque; the delivery report lowers `pending`, which is what lets the
 * commit loop move past that batch. Records for a topic not yet known wait until the admin
 * has created it; once one record waits for queue room, all later ones queue behind it so
 * per-partition order holds.
 */
export class RdkafkaRecordCollector implements RecordCollector {
  readonly producedByTopic = new Map<string, number>()
  private readonly knownTopics = new Set<string>()
  private readonly creating = new Map<string, Promise<void>>()
  private readonly heldForTopic = new Map<string, Held[]>()
  private heldForRoom: Held[] = []
  private fatal: KafkaError | undefined
  /** Produced and not yet reported on; librdkafka's flush can end before its reports reach us. */
  private unreported = 0

  private constructor(private readonly producer: Kafka.Producer, private readonly admin: TopicAdmin) {
    producer.on('delivery-report', (error, report) => {
      ;(report.opaque as DeliveryAck).pending--
      this.unreported--
      if (error) this.fatal ??= new KafkaError('DELIVERY', `delivery to ${report.topic} failed: ${error.message}`, false, { cause: error })
    })
  }

  static async connect(config: LibrdkafkaConfig, admin: TopicAdmin, pollIntervalMs = 20): Promise<RdkafkaRecordCollector> {
    const producer = new Kafka.Producer(config as Kafka.ProducerGlobalConfig, {})
    await new Promise<void>((resolve, reject) => {
      producer.connect({ timeout: 30_000 }, (error) =>
        error ? reject(new KafkaError('CONNECT', `producer cannot connect: ${error.message}`, true, { cause: error })) : resolve())
    })
    producer.setPollInterval(pollIntervalMs)
    return new RdkafkaRecordCollector(producer, admin)
  }

  /** Topics created up front (sinks with a fixed name, the dead-letter topic) skip the per-record check. */
  async ensureTopic(topic: string, spec: TopicSpec): Promise<void> {
    await this.create(topic, spec)
  }

  send(record: OutgoingRecord, ack: DeliveryAck, topicSpec?: TopicSpec): void {
    ack.pending++
    if (!this.knownTopics.has(record.topic)) return this.holdForTopic(record, ack, topicSpec)
    if (this.heldForRoom.length > 0 || !this.tryProduce(record, ack)) this.heldForRoom.push([record, ack])
  }

  async drain(): Promise<void> {
    this.throwIfFailed()
    if (this.creating.size > 0) await Promise.all(this.creating.values())
    for (const [topic, held] of this.heldForTopic) {
      this.heldForTopic.delete(topic)
      for (const entry of held) this.heldForRoom.push(entry)
    }
    while (this.heldForRoom.length > 0) {
      const waiting = this.heldForRoom
      let sent = 0
      while (sent < waiting.length && this.tryProduce(waiting[sent][0], waiting[sent][1])) sent++
      this.heldForRoom = waiting.slice(sent)
      if (this.heldForRoom.length > 0) await this.waitForRoom()
      this.throwIfFailed()
    }
  }

  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    await new Promise<void>((resolve, reject) => {
      this.producer.flush(timeoutMs, (error) => {
        if (error) reject(new KafkaError('FLUSH_TIMEOUT', `producer flush did not finish in ${timeoutMs} ms: ${error.message}`, true, { cause: error }))
        else resolve()
      })
    })
    // Delivery reports are dispatched to this thread after the flush itself completes.
    while (this.unreported > 0) {
      if (Date.now() > deadline) throw new KafkaError('FLUSH_TIMEOUT', `${this.unreported} delivery reports still missing after ${timeoutMs} ms`, true)
      this.producer.poll()
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    this.throwIfFailed()
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.producer.disconnect(5_000, () => resolve()))
  }

  private holdForTopic(record: OutgoingRecord, ack: DeliveryAck, topicSpec: TopicSpec | undefined): void {
    let held = this.heldForTopic.get(record.topic)
    if (!held) this.heldForTopic.set(record.topic, (held = []))
    held.push([record, ack])
    if (!this.creating.has(record.topic)) void this.create(record.topic, topicSpec ?? {}).catch(() => undefined)
  }

  private create(topic: string, spec: TopicSpec): Promise<void> {
    const pending = this.creating.get(topic)
    if (pending) return pending
    const creation = this.admin.ensureTopic(topic, spec).then(
      () => {
        this.knownTopics.add(topic)
        this.creating.delete(topic)
      },
      (error: KafkaError) => {
        this.fatal ??= error
        this.creating.delete(topic)
        throw error
      },
    )
    this.creating.set(topic, creation)
    return creation
  }

  /** False when librdkafka's queue is full; anything else is fatal for this process. */
  private tryProduce(record: OutgoingRecord, ack: DeliveryAck): boolean {
    try {
      this.producer.produce(record.topic, null, record.value, record.key, record.timestamp, ack, record.headers)
    } catch (error) {
      if ((error as { code?: number }).code === CODES.ERRORS.ERR__QUEUE_FULL) return false
      throw new KafkaError('DELIVERY', `cannot produce to ${record.topic}: ${(error as Error).message}`, false, { cause: error })
    }
    this.unreported++
    this.producedByTopic.set(record.topic, (this.producedByTopic.get(record.topic) ?? 0) + 1)
    return true
  }

  private waitForRoom(): Promise<void> {
    this.producer.poll()
    return new Promise((resolve) => setTimeout(resolve, 5))
  }

  private throwIfFailed(): void {
    if (this.fatal) throw this.fatal
  }
}
