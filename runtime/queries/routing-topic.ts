import { type KafkaSettings, producerConfig, restoreConsumerConfig } from '../../connectors/kafka/client-config.js'
import { RdkafkaRecordCollector } from '../../connectors/kafka/rdkafka-record-collector.js'
import type { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import type { Logger } from '../../core/logger.js'
import { ChangelogConsumer, OFFSET_BEGINNING } from '../../state/internals/changelog-consumer.js'
import { type ReplicaAdvert, RoutingTable } from './routing-table.js'

/** How often a replica reads the others' adverts: routing converges within about this after a rebalance. */
const READ_INTERVAL_MS = 200

/**
 * How replicas learn each other's assignment: `<application id>-query-routing`, one compacted
 * partition keyed by instance id. Each replica writes its advert (URL, active and standby store
 * partitions) whenever its tasks change, a tombstone when it stops, and reads everyone's from
 * the start into its RoutingTable. One partition gives the adverts one order, which settles
 * competing claims (see RoutingTable). Written outside any transaction, so it is seen at once
 * under exactly-once too.
 */
export class RoutingTopic {
  readonly table = new RoutingTable()
  private timer: NodeJS.Timeout | undefined
  private reading: Promise<void> = Promise.resolve()
  /** The newest advert not yet written; written ones are coalesced, only the latest counts. */
  private pending: ReplicaAdvert | undefined
  private writing: Promise<void> | undefined
  /** Set when the replica stops: an advert that keeps failing is not retried past it. */
  private stopping = false

  private constructor(
    readonly topic: string,
    private readonly producer: RdkafkaRecordCollector,
    private readonly reader: ChangelogConsumer,
    private readonly log: Logger,
  ) {}

  static async open(
    kafka: KafkaSettings,
    applicationId: string,
    admin: TopicAdmin,
    log: Logger,
  ): Promise<RoutingTopic> {
    const topic = `${applicationId}-query-routing`
    const producer = await RdkafkaRecordCollector.connect(
      producerConfig(kafka, `${applicationId}-query-routing`),
      admin,
    )
    try {
      await producer.ensureTopic(topic, { partitions: 1, config: { 'cleanup.policy': 'compact' } })
      const reader = await ChangelogConsumer.connect(
        restoreConsumerConfig(kafka, `${applicationId}-query-routing`),
        'query routing',
      )
      reader.assign([{ topic, partition: 0, offset: OFFSET_BEGINNING }])
      return new RoutingTopic(topic, producer, reader, log)
    } catch (error) {
      await producer.close()
      throw error
    }
  }

  /** Reads the adverts from now on, every READ_INTERVAL_MS. */
  start(): void {
    this.timer = setInterval(() => {
      this.reading = this.reading
        .then(() => this.read())
        .catch((error: unknown) => {
          this.log.warn({ err: error, topic: this.topic }, 'cannot read the query routing topic; trying again')
        })
    }, READ_INTERVAL_MS)
  }

  /** Writes this replica's advert (soon: a burst of task changes writes the last one). */
  advertise(advert: ReplicaAdvert): void {
    this.pending = advert
    this.writing ??= this.writePending().finally(() => (this.writing = undefined))
  }

  /** Says this replica left: its claims no longer count. */
  async withdraw(instance: string): Promise<void> {
    this.stopping = true
    await this.writing
    this.producer.send({ topic: this.topic, key: instance, value: null, headers: undefined, timestamp: Date.now() })
    await this.producer.flush(5_000)
  }

  async close(): Promise<void> {
    this.stopping = true
    clearInterval(this.timer)
    await this.reading
    await this.reader.close()
    await this.producer.close()
  }

  private async writePending(): Promise<void> {
    while (this.pending && !this.stopping) {
      const advert = this.pending
      this.pending = undefined
      const value = Buffer.from(JSON.stringify(advert))
      try {
        this.producer.send({
          topic: this.topic,
          key: advert.instance,
          value,
          headers: undefined,
          timestamp: Date.now(),
        })
        await this.producer.flush(10_000)
      } catch (error) {
        // Queries are answered with 503 elsewhere until a later advert lands; processing goes on.
        this.log.warn({ err: error, topic: this.topic }, 'cannot write this replica query routing advert')
        this.pending ??= advert
        await this.producer.abort(5_000).catch(() => undefined)
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
    }
  }

  private async read(): Promise<void> {
    for (const message of await this.reader.consume(1_000, 0)) {
      const instance = String(message.key ?? '')
      try {
        const advert = message.value ? (JSON.parse(message.value.toString('utf8')) as ReplicaAdvert) : null
        this.table.apply(instance, advert, message.offset)
      } catch (error) {
        this.log.warn({ err: error, instance, offset: message.offset }, 'ignoring a malformed query routing advert')
      }
    }
  }
}
