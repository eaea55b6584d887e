import Kafka from 'node-rdkafka'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import type { OutgoingRecord, RecordCollector, TopicSpec } from '../../core/record-collector.js'
import type { GroupMembership, TopicPartitionOffset } from '../../core/record-consumer.js'
import { accessError, accessErrorInLog } from './access-error.js'
import { type LibrdkafkaConfig, producerConfigs } from './client-config.js'
import { connectClient } from './connect-client.js'
import { KafkaError, transactionError } from './kafka-error.js'
import { queryWatermarks } from './query-watermarks.js'
import type { TopicAdmin } from './topic-admin.js'

const { CODES } = Kafka

/** Records held for topics being created before `drain` waits for the creation instead of letting processing go on. */
const MAX_HELD_FOR_TOPIC = 20_000

/**
 * The RecordCollector over a node-rdkafka producer. Delivery is confirmed in bulk by `flush`,
 * as Kafka Streams does at each commit; the producer reports only failed deliveries
 * (`delivery.report.only.error`), because a report object per record costs the main thread
 * more than the whole produce call. Records for a topic not yet known wait until the admin
 * has created it, while records for other topics go on (a new namespace does not stall the
 * rest); once one record waits for queue room, all later ones queue behind it so
 * per-partition order holds.
 */
export class RdkafkaRecordCollector implements RecordCollector {
  readonly producedByTopic = new Map<string, number>()
  private readonly knownTopics = new Set<string>()
  private readonly creating = new Map<string, Promise<void>>()
  private readonly heldForTopic = new Map<string, OutgoingRecord[]>()
  /** Only ever appended to and spliced, never replaced: release() adds to it while drain() waits. */
  private readonly heldForRoom: OutgoingRecord[] = []
  private heldForTopicCount = 0
  private fatal: KafkaError | undefined
  /** When the open transaction began: one open longer than transaction.timeout.ms is aborted by the coordinator. */
  private transactionBegan = Date.now()

  private constructor(
    private producer: Kafka.Producer,
    private readonly config: LibrdkafkaConfig,
    private readonly admin: TopicAdmin,
    private readonly pollIntervalMs: number,
  ) {
    this.reportFailures(producer)
  }

  /**
   * With a `transactional.id` in the config, the producer is fenced in (any older producer with
   * the same id has its open transaction aborted) and a first transaction is begun.
   */
  static async connect(
    config: LibrdkafkaConfig,
    admin: TopicAdmin,
    pollIntervalMs = 20,
  ): Promise<RdkafkaRecordCollector> {
    let collector: RdkafkaRecordCollector | undefined
    const producer = await openProducer(config, pollIntervalMs, (error) => collector?.refuse(error))
    return (collector = new RdkafkaRecordCollector(producer, config, admin, pollIntervalMs))
  }

  /**
   * The input offsets join the open transaction with the consumer's group metadata, so a
   * member the group has moved on from cannot commit them.
   */
  async sendOffsetsToTransaction(
    offsets: TopicPartitionOffset[],
    group: GroupMembership,
    timeoutMs: number,
  ): Promise<void> {
    if (!(group instanceof Kafka.KafkaConsumer))
      throw new TypeError('exactly-once needs the group membership of a node-rdkafka consumer')
    await this.step('send offsets to', timeoutMs, (done) =>
      this.producer.sendOffsetsToTransaction(offsets, group, timeoutMs, done),
    )
  }

  /** Commits the open transaction and begins the next. */
  async commitTransaction(timeoutMs: number): Promise<void> {
    await this.step('commit', timeoutMs, (done) => this.producer.commitTransaction(timeoutMs, done))
    await this.step('begin', timeoutMs, (done) => this.producer.beginTransaction(done))
    this.transactionBegan = Date.now()
  }

  /**
   * Under exactly-once, aborts the open transaction (librdkafka purges what it still queues for
   * it) and begins the next. Records held here for room or for a topic belong to what is
   * given up; so does a delivery that failed on its own (timed out while a broker was away).
   */
  async abort(timeoutMs: number): Promise<void> {
    this.heldForRoom.splice(0)
    this.heldForTopic.clear()
    this.heldForTopicCount = 0
    if (this.fatal?.recovery === 'restart-task') this.fatal = undefined
    if (this.config['transactional.id'] === undefined) return
    try {
      await this.step('abort', timeoutMs, (done) => this.producer.abortTransaction(timeoutMs, done))
      // The purged records' reports arrive on the next turns; they are not delivery failures.
      await nextTurn()
      await this.step('begin', timeoutMs, (done) => this.producer.beginTransaction(done))
      this.transactionBegan = Date.now()
    } catch (error) {
      if ((error as KafkaError).code === 'PRODUCER_FENCED') throw error
      await this.replaceProducer()
    }
  }

  /**
   * A producer that cannot abort (librdkafka made it unusable, or the coordinator lost track of
   * its transaction in a broker restart) is replaced: the new one's initialization, under the
   * same transactional.id, fences the old one and aborts whatever it left open (Kafka
   * Streams' StreamsProducer#resetProducer).
   */
  private async replaceProducer(): Promise<void> {
    const old = this.producer
    await new Promise<void>((resolve) => old.disconnect(5_000, () => resolve()))
    this.producer = await openProducer(this.config, this.pollIntervalMs, (error) => this.refuse(error))
    this.transactionBegan = Date.now()
    this.reportFailures(this.producer)
    // A refused credential or ACL outlives the producer that met it: the next one would meet it too.
    if (this.fatal?.recovery !== 'stop') this.fatal = undefined
  }

  /**
   * A transaction call. Fenced while its transaction has been open longer than
   * transaction.timeout.ms, the producer was fenced by its own coordinator, which aborted the
   * transaction (a commit held up that long): the tasks restart and the producer is replaced,
   * as Kafka Streams does. Fenced sooner, another process took the transactional.id.
   */
  private async step(what: string, timeoutMs: number, call: TransactionCall): Promise<void> {
    try {
      await transactionStep(what, timeoutMs, call)
    } catch (error) {
      const limit = Number(this.config['transaction.timeout.ms'] ?? 60_000)
      const open = Date.now() - this.transactionBegan
      if (!(error instanceof KafkaError) || error.code !== 'PRODUCER_FENCED' || open <= limit) throw error
      throw new KafkaError(
        'TRANSACTION_TIMED_OUT',
        `cannot ${what} the transaction: it was open ${open} ms, longer than transaction.timeout.ms (${limit}), ` +
          'and the coordinator aborted it',
        { cause: error },
      )
    }
  }

  private reportFailures(producer: Kafka.Producer): void {
    producer.on('delivery-report', (error, report) => {
      if (!error || producer !== this.producer) return
      this.fatal ??= deliveryError(report.topic, error, this.config)
    })
  }

  /** The brokers refused this producer's credentials or an ACL: the next send or commit throws it. */
  private refuse(error: KafkaError): void {
    this.fatal ??= error
  }

  /**
   * The partition's end offset (high watermark), asked of the broker, again while it cannot
   * answer: by now the commit is in Kafka, and only this read stands between it and LMDB.
   */
  async endOffset(topic: string, partition: number): Promise<number> {
    try {
      return (await queryWatermarks(this.producer, topic, partition)).highOffset
    } catch (error) {
      const message = `cannot read the end offset of ${topic}-${partition}: ${(error as Error).message}`
      throw new KafkaError('CONNECT', message, { cause: error })
    }
  }

  /** Topics created up front (sinks with a fixed name, the dead-letter topic) skip the per-record check. */
  async ensureTopic(topic: string, spec: TopicSpec): Promise<void> {
    await this.create(topic, spec)
  }

  send(record: OutgoingRecord, topicSpec?: TopicSpec): void {
    if (!this.knownTopics.has(record.topic)) return this.holdForTopic(record, topicSpec)
    if (this.heldForRoom.length > 0 || !this.tryProduce(record)) this.heldForRoom.push(record)
  }

  /** Hands what waits for queue room to the producer; waits for topic creation only when too much is held for it. */
  async drain(): Promise<void> {
    this.throwIfFailed()
    if (this.heldForTopicCount > MAX_HELD_FOR_TOPIC) await this.topicsCreated()
    const waiting = this.heldForRoom
    while (waiting.length > 0) {
      let sent = 0
      while (sent < waiting.length && this.tryProduce(waiting[sent])) sent++
      waiting.splice(0, sent)
      if (waiting.length > 0) await this.waitForRoom()
      this.throwIfFailed()
    }
  }

  /**
   * librdkafka's flush returns once every produced record is acknowledged and its report
   * handed to node-rdkafka, whose dispatcher then delivers failures to this thread on its own
   * async handle; waiting one event-loop turn lets them arrive before we say all is well.
   */
  async flush(timeoutMs: number): Promise<void> {
    await this.topicsCreated()
    await this.drain()
    await new Promise<void>((resolve, reject) => {
      this.producer.flush(timeoutMs, (error) => {
        if (error)
          reject(
            new KafkaError('FLUSH_TIMEOUT', `producer flush did not finish in ${timeoutMs} ms: ${error.message}`, {
              cause: error,
            }),
          )
        else resolve()
      })
    })
    await nextTurn()
    this.throwIfFailed()
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.producer.disconnect(5_000, () => resolve()))
  }

  private holdForTopic(record: OutgoingRecord, topicSpec: TopicSpec | undefined): void {
    let held = this.heldForTopic.get(record.topic)
    if (!held) this.heldForTopic.set(record.topic, (held = []))
    held.push(record)
    this.heldForTopicCount++
    if (!this.creating.has(record.topic)) void this.create(record.topic, topicSpec ?? {}).catch(() => undefined)
  }

  /** Settles once no creation is pending; a failed one has set `fatal`. */
  private async topicsCreated(): Promise<void> {
    while (this.creating.size > 0) await Promise.allSettled(this.creating.values())
  }

  /**
   * The topic exists: its held records join the queue for room in the same turn that makes the
   * topic known, so a record sent for it later can only queue behind them.
   */
  private release(topic: string): void {
    this.knownTopics.add(topic)
    const held = this.heldForTopic.get(topic)
    if (!held) return
    this.heldForTopic.delete(topic)
    this.heldForTopicCount -= held.length
    for (const record of held) this.heldForRoom.push(record)
  }

  private create(topic: string, spec: TopicSpec): Promise<void> {
    const pending = this.creating.get(topic)
    if (pending) return pending
    const creation = this.admin.ensureTopic(topic, spec).then(
      () => {
        this.release(topic)
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
  private tryProduce(record: OutgoingRecord): boolean {
    try {
      this.producer.produce(
        record.topic,
        record.partition ?? null,
        record.value,
        record.key,
        record.timestamp,
        undefined,
        record.headers,
      )
    } catch (error) {
      const { code, message } = error as { code?: number; message: string }
      if (code === CODES.ERRORS.ERR__QUEUE_FULL) return false
      // The transaction failed because the brokers refused a partition of it: that, not the state, is the cause.
      if (this.fatal?.recovery === 'stop') throw this.fatal
      // Once the brokers refused a write to a topic, librdkafka refuses the topic's next records itself,
      // before the first one's delivery report has reached this thread.
      const refused = accessError(
        { code: code ?? -1, message },
        { config: this.config, topic: record.topic, operation: 'WRITE' },
      )
      if (refused) throw (this.fatal ??= refused)
      // The transaction failed underneath (a broker restarted, the coordinator aborted it): librdkafka
      // refuses records until it is aborted. A migration: abort, and the tasks go on from the last commit.
      if (
        this.config['transactional.id'] !== undefined &&
        (code === CODES.ERRORS.ERR__STATE || /erroneous state/i.test(message))
      )
        throw new KafkaError(
          'TRANSACTION_ABORTABLE',
          `cannot produce to ${record.topic}: the transaction has failed (${message}); it is aborted`,
          { cause: error },
        )
      throw new KafkaError('DELIVERY', `cannot produce to ${record.topic}: ${message}`, { cause: error })
    }
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

/**
 * A failed delivery as the runtime acts on it: records of an aborted transaction are purged
 * (the abort already said they are gone); one that timed out (a broker away longer than
 * message.timeout.ms) restarts the tasks from the last commit; any other stops the replica.
 * node-rdkafka reports delivery errors by their text only (its code is -1).
 */
function deliveryError(topic: string, error: Kafka.LibrdKafkaError, config: LibrdkafkaConfig): KafkaError | undefined {
  const is = (code: number, text: RegExp) => error.code === code || text.test(error.message)
  if (
    is(CODES.ERRORS.ERR__PURGE_QUEUE, /purged in queue/i) ||
    is(CODES.ERRORS.ERR__PURGE_INFLIGHT, /purged in flight/i)
  )
    return undefined
  const refused = accessError(error, { config, topic, operation: 'WRITE' })
  if (refused) return refused
  const timedOut = is(CODES.ERRORS.ERR__MSG_TIMED_OUT, /message timed out/i)
  return new KafkaError(timedOut ? 'DELIVERY_TIMEOUT' : 'DELIVERY', `delivery to ${topic} failed: ${error.message}`, {
    cause: error,
  })
}

/** A connected producer; with a transactional.id, initialized (fencing older ones) with a transaction begun. */
async function openProducer(
  config: LibrdkafkaConfig,
  pollIntervalMs: number,
  onRefused: (error: KafkaError) => void,
): Promise<Kafka.Producer> {
  // event_cb: librdkafka's log lines reach JS (at its default level, info and worse), for accessErrorInLog.
  const { global, topic } = producerConfigs(config)
  const producer = new Kafka.Producer({ ...global, event_cb: true }, topic)
  producer.on('event.log', (log: { severity: number; fac: string; message: string }) => {
    const refused = accessErrorInLog(log, config)
    if (refused) onRefused(refused)
  })
  await connectClient(producer, 'producer', config, onRefused)
  producer.setPollInterval(pollIntervalMs)
  if (config['transactional.id'] !== undefined) {
    try {
      await transactionStep('initialize', 60_000, (done) => producer.initTransactions(60_000, done))
      await transactionStep('begin', 60_000, (done) => producer.beginTransaction(done))
    } catch (error) {
      throw accessError(librdkafkaCause(error), { config }) ?? error
    }
  }
  return producer
}

/** The librdkafka error under a KafkaError, for classification. */
function librdkafkaCause(error: unknown): { code: number; message: string } {
  const cause = (error as { cause?: { code?: number; message?: string } }).cause
  return { code: cause?.code ?? -1, message: cause?.message ?? (error as Error).message }
}

type TransactionCall = (done: (error: Kafka.LibrdKafkaError | null | undefined) => void) => void

/**
 * One call of librdkafka's transaction API. A retriable failure (a coordinator moving, a
 * request timing out while a broker restarts) is retried, as librdkafka asks, until the
 * timeout; any other is classified by `transactionError`.
 */
async function transactionStep(what: string, timeoutMs: number, call: TransactionCall): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let attempt = 1; ; attempt++) {
    const failure = await new Promise<Kafka.LibrdKafkaError | undefined>((resolve) =>
      call((error) => resolve(error ?? undefined)),
    )
    if (!failure) return
    if (!failure.isRetriable || Date.now() >= deadline) throw transactionError(what, failure)
    await sleep(Math.min(100 * attempt, 1_000))
  }
}
