import Kafka from 'node-rdkafka'
import { setTimeout as sleep } from 'node:timers/promises'
import type {
  FetchPosition,
  RebalanceListener,
  RecordConsumer,
  TopicPartitionOffset,
} from '../../core/record-consumer.js'
import { accessError } from './access-error.js'
import type { LibrdkafkaConfig } from './client-config.js'
import { connectClient } from './connect-client.js'
import { consumeBatch } from './consume-batch.js'
import { fetchedEnd } from './fetched-end.js'
import { KafkaError } from './kafka-error.js'

const { CODES } = Kafka
const BUSY_POLL_TIMEOUT_MS = 2

/**
 * A connected node-rdkafka consumer whose rebalances reach the listener — until it is retired
 * (being replaced): from then on it takes and lets go of partitions at once, so that closing
 * it never waits for a thread whose tasks are already closed.
 */
async function open(
  global: LibrdkafkaConfig,
  topic: LibrdkafkaConfig,
  listener: RebalanceListener,
  retired: WeakSet<Kafka.KafkaConsumer>,
): Promise<Kafka.KafkaConsumer> {
  const consumer = new Kafka.KafkaConsumer(
    {
      ...global,
      offset_commit_cb: true,
      rebalance_cb(this: Kafka.KafkaConsumer, error: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) {
        const partitions = assignment.map(({ topic, partition }) => ({ topic, partition }))
        const cooperative = this.rebalanceProtocol() === 'COOPERATIVE'
        const assigning = error.code === CODES.ERRORS.ERR__ASSIGN_PARTITIONS
        const apply = () => {
          if (assigning) {
            if (cooperative) this.incrementalAssign(assignment)
            else this.assign(assignment)
          } else if (!this.isConnected()) {
            // After a disconnect there is nothing left to unassign.
          } else if (cooperative) this.incrementalUnassign(assignment)
          else this.unassign()
        }
        if (retired.has(this)) {
          try {
            apply()
          } catch {
            // A consumer on its way out: what it holds is the replacement's to take.
          }
          return
        }
        // librdkafka refuses an (un)assign once the group has moved on again (`Local: Erroneous state`):
        // the thread revives its tasks, rather than the exception escaping the callback.
        const change = () => {
          try {
            apply()
          } catch (cause) {
            const what = assigning ? 'take' : 'let go of'
            const message = `cannot ${what} partitions in a rebalance: ${(cause as Error).message}`
            listener.onFailure(new KafkaError('REBALANCE', message, { cause }))
          }
        }
        if (assigning) {
          listener.onAssigned(partitions)
          change()
        } else listener.onRevoked(partitions).then(change, change)
      },
    },
    topic,
  )
  await connectClient(consumer, 'consumer', global, (error) => listener.onFailure(error))
  return consumer
}

/**
 * A node-rdkafka consumer read in batches: `nextBatch` hands back whatever librdkafka has
 * fetched, up to a size, waiting at most the poll timeout for the first message.
 * Offsets are only committed when the caller says so.
 */
export class BatchConsumer implements RecordConsumer {
  private idle = true
  private topics: string[] = []
  private commitErrorHandler: ((error: Error) => void) | undefined

  private constructor(
    private consumer: Kafka.KafkaConsumer,
    private readonly config: { global: LibrdkafkaConfig; topic: LibrdkafkaConfig },
    private readonly listener: RebalanceListener,
    private readonly pollTimeoutMs: number,
    /** Consumers replaced by `rejoin`, whose rebalances no longer reach the listener. */
    private readonly retired: WeakSet<Kafka.KafkaConsumer>,
  ) {}

  static async connect(
    global: LibrdkafkaConfig,
    topic: LibrdkafkaConfig,
    listener: RebalanceListener,
    pollTimeoutMs = 100,
  ): Promise<BatchConsumer> {
    const retired = new WeakSet<Kafka.KafkaConsumer>()
    const consumer = await open(global, topic, listener, retired)
    return new BatchConsumer(consumer, { global, topic }, listener, pollTimeoutMs, retired)
  }

  /** The node-rdkafka consumer: exactly-once hands it to the producer with the offsets (which fences zombies). */
  get group(): Kafka.KafkaConsumer {
    return this.consumer
  }

  subscribe(topics: string[]): void {
    this.topics = topics
    this.consumer.subscribe(topics)
  }

  /**
   * After a migration (the tasks were closed without committing): a new consumer with the same
   * settings takes this one's place in the group, and the partitions the group gives it come
   * through onAssigned, their tasks reading from the committed offsets (Kafka Streams
   * resubscribes, and replaces a thread whose consumer was fenced). A new consumer rather than
   * a seek or a resubscription: after a migration librdkafka's idea of what it owns can differ
   * from what it fetches (a broker restart in the middle of a cooperative rebalance left
   * partitions that the group counted as this member's but that nothing read), and a static
   * member fenced by its own earlier membership is unusable. A static member's replacement gets
   * its assignment back without a rebalance.
   */
  async rejoin(timeoutMs = 30_000): Promise<void> {
    const old = this.consumer
    this.retired.add(old)
    // One that cannot close in time is left to librdkafka: as a static member, the replacement fences it.
    await Promise.race([new Promise<void>((resolve) => old.disconnect(() => resolve())), sleep(timeoutMs)])
    this.consumer = await open(this.config.global, this.config.topic, this.listener, this.retired)
    this.idle = true
    if (this.commitErrorHandler) this.listenForCommitErrors(this.commitErrorHandler)
    this.consumer.subscribe(this.topics)
  }

  /** Partition counts of the given topics; a topic that does not exist maps to undefined. */
  partitionCounts(topics: string[], timeoutMs = 10_000): Promise<Map<string, number | undefined>> {
    return new Promise((resolve, reject) => {
      this.consumer.getMetadata({ timeout: timeoutMs }, (error, metadata) => {
        if (error)
          return reject(new KafkaError('CONNECT', `cannot read cluster metadata: ${error.message}`, { cause: error }))
        const byName = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]))
        resolve(new Map(topics.map((t) => [t, byName.get(t) || undefined])))
      })
    })
  }

  /**
   * librdkafka's timeout applies to each message of a batch, so a steady trickle would hold a
   * batch open until it is full. So: an idle consumer waits up to the poll timeout for one
   * message, then takes whatever else is already fetched with a near-zero wait.
   */
  async nextBatch(maxMessages: number): Promise<Kafka.Message[]> {
    if (!this.idle) return this.consume(maxMessages, BUSY_POLL_TIMEOUT_MS)
    const first = await this.consume(1, this.pollTimeoutMs)
    if (first.length === 0 || maxMessages === 1) return first
    const rest = await this.consume(maxMessages - 1, BUSY_POLL_TIMEOUT_MS)
    return rest.length === 0 ? first : [first[0], ...rest]
  }

  private consume(maxMessages: number, timeoutMs: number): Promise<Kafka.Message[]> {
    return new Promise((resolve, reject) => {
      consumeBatch(this.consumer, maxMessages, timeoutMs, (error, messages) => {
        this.idle = !error && messages.length === 0
        if (!error) return resolve(messages)
        // A timed-out or interrupted poll is not a failure; the loop asks again.
        if (error.code === CODES.ERRORS.ERR__TIMED_OUT || error.code === CODES.ERRORS.ERR__TIMED_OUT_QUEUE)
          return resolve([])
        // The thread was away longer than max.poll.interval.ms (a long commit): librdkafka left the
        // group and rejoins at this poll; the tasks it ran may be someone else's by now.
        // A fatal consumer error is a static member fenced: the thread's recovery replaces this consumer.
        if (error.code === CODES.ERRORS.ERR__MAX_POLL_EXCEEDED || error.code === CODES.ERRORS.ERR__FATAL) {
          const message = `this member left the group: ${error.message}`
          this.listener.onFailure(new KafkaError('REBALANCE', message, { cause: error }))
          return resolve([])
        }
        reject(
          accessError(error, { config: this.config.global, operation: 'READ', topic: this.assignedTopics() }) ??
            new KafkaError('CONNECT', `consume failed: ${error.message}`, { cause: error }),
        )
      })
    })
  }

  /** The topics of the current assignment, in name order. */
  private assignedTopics(): string[] {
    try {
      return [...new Set(this.consumer.assignments().map(({ topic }) => topic))].sort()
    } catch {
      return []
    }
  }

  /** The partition's end (high watermark) as this consumer last fetched it; undefined before any fetch. */
  fetchedEnd(topic: string, partition: number): number | undefined {
    return fetchedEnd(this.consumer, topic, partition)
  }

  /**
   * Whether the caller has everything the broker had for the partition when this consumer last
   * fetched it (the cached high watermark): `nextExpected` is the offset after the last record
   * the caller received, if any. Records consumed but not yet handed over (the batch in flight)
   * show as a position beyond it: behind. Before the first fetch of the partition: unknown.
   */
  fetchPosition(topic: string, partition: number, nextExpected: number | undefined): FetchPosition {
    let watermarks: { highOffset: number; lowOffset: number }
    try {
      watermarks = this.consumer.getWatermarkOffsets(topic, partition)
    } catch {
      return 'unknown'
    }
    const { highOffset, lowOffset } = watermarks
    if (highOffset < 0) return 'unknown'
    let position: number | undefined
    try {
      position = this.consumer.position([{ topic, partition }])[0]?.offset
    } catch {
      return 'behind'
    }
    if (position === undefined || position < 0)
      return nextExpected === undefined && highOffset <= lowOffset ? 'caught-up' : 'behind'
    return position === nextExpected && position >= highOffset ? 'caught-up' : 'behind'
  }

  /** Commits in the background; failures arrive as 'offset.commit' events and are retried by the next commit. */
  commit(offsets: TopicPartitionOffset[]): void {
    if (offsets.length > 0) this.consumer.commit(offsets)
  }

  /** Commits and waits: used on revoke and on shutdown, where nothing may be lost. */
  commitSync(offsets: TopicPartitionOffset[]): void {
    if (offsets.length === 0) return
    try {
      this.consumer.commitSync(offsets)
    } catch (error) {
      throw new KafkaError('COMMIT', `commit failed: ${(error as Error).message}`, { cause: error })
    }
  }

  onCommitError(handler: (error: Error) => void): void {
    this.commitErrorHandler = handler
    this.listenForCommitErrors(handler)
  }

  private listenForCommitErrors(handler: (error: Error) => void): void {
    this.consumer.on('offset.commit', (error) => {
      if (error) handler(new KafkaError('COMMIT', `offset commit failed: ${error.message}`, { cause: error }))
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.consumer.disconnect(() => resolve()))
  }
}
