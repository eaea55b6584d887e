import Kafka from 'node-rdkafka'
import type {
  FetchPosition,
  RebalanceListener,
  RecordConsumer,
  TopicPartition,
  TopicPartitionOffset,
} from '../../core/record-consumer.js'
import { accessError } from './access-error.js'
import type { LibrdkafkaConfig } from './client-config.js'
import { connectClient } from './connect-client.js'
import { fetchedEnd } from './fetched-end.js'
import { KafkaError } from './kafka-error.js'

const { CODES } = Kafka
const BUSY_POLL_TIMEOUT_MS = 2
/** librdkafka's logical offsets. */
const OFFSET_BEGINNING = -2
const OFFSET_END = -1

/** A connected node-rdkafka consumer whose rebalances reach the listener. */
async function open(
  global: LibrdkafkaConfig,
  topic: LibrdkafkaConfig,
  listener: RebalanceListener,
): Promise<Kafka.KafkaConsumer> {
  const consumer = new Kafka.KafkaConsumer(
    {
      ...global,
      offset_commit_cb: true,
      rebalance_cb(this: Kafka.KafkaConsumer, error: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) {
        const partitions = assignment.map(({ topic, partition }) => ({ topic, partition }))
        const cooperative = this.rebalanceProtocol() === 'COOPERATIVE'
        // librdkafka refuses an (un)assign once the group has moved on again (`Local: Erroneous state`):
        // the thread revives its tasks, rather than the exception escaping the callback.
        const change = (what: string, action: () => void) => {
          try {
            action()
          } catch (cause) {
            const message = `cannot ${what} partitions in a rebalance: ${(cause as Error).message}`
            listener.onFailure(new KafkaError('REBALANCE', message, { cause }))
          }
        }
        if (error.code === CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
          listener.onAssigned(partitions)
          change('take', () => (cooperative ? this.incrementalAssign(assignment) : this.assign(assignment)))
        } else {
          const letGo = () => {
            // After a disconnect there is nothing left to unassign.
            if (!this.isConnected()) return
            change('let go of', () => (cooperative ? this.incrementalUnassign(assignment) : this.unassign()))
          }
          listener.onRevoked(partitions).then(letGo, letGo)
        }
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
  /** librdkafka reported this consumer fenced: it must be replaced. */
  private fenced = false

  private constructor(
    private consumer: Kafka.KafkaConsumer,
    private readonly config: { global: LibrdkafkaConfig; topic: LibrdkafkaConfig },
    private readonly listener: RebalanceListener,
    private readonly pollTimeoutMs: number,
  ) {}

  static async connect(
    global: LibrdkafkaConfig,
    topic: LibrdkafkaConfig,
    listener: RebalanceListener,
    pollTimeoutMs = 100,
  ): Promise<BatchConsumer> {
    return new BatchConsumer(await open(global, topic, listener), { global, topic }, listener, pollTimeoutMs)
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
   * After a migration (the tasks were closed without committing): the partitions this
   * consumer still holds, each set back to its committed offset (or to auto.offset.reset
   * where it has none), so their new tasks read again what was not committed. Partitions the
   * group has taken meanwhile come through onRevoked as usual. A consumer librdkafka has made
   * unusable (`Local: Fatal error`: as a static member it was fenced — also by its own earlier
   * membership, after a broker restart) is replaced by a new one with the same settings, as
   * Kafka Streams replaces a thread whose consumer was fenced; its partitions come through
   * onAssigned.
   */
  async rewind(timeoutMs = 30_000): Promise<TopicPartition[]> {
    if (!this.fenced) {
      try {
        return await this.seekToCommitted(timeoutMs)
      } catch (error) {
        if (!isFatal((error as KafkaError).cause)) throw error
      }
    }
    await this.replace()
    return []
  }

  private async seekToCommitted(timeoutMs: number): Promise<TopicPartition[]> {
    const assigned = this.consumer.assignments().map(({ topic, partition }) => ({ topic, partition }))
    if (assigned.length === 0) return []
    const committed = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
      this.consumer.committed(assigned, timeoutMs, (error, offsets) =>
        error ? reject(rebalanceError('cannot read the committed offsets', error)) : resolve(offsets),
      ),
    )
    const reset = this.config.topic['auto.offset.reset'] === 'latest' ? OFFSET_END : OFFSET_BEGINNING
    await Promise.all(
      committed.map(
        ({ topic, partition, offset }) =>
          new Promise<void>((resolve, reject) =>
            this.consumer.seek({ topic, partition, offset: offset >= 0 ? offset : reset }, timeoutMs, (error) =>
              error ? reject(rebalanceError(`cannot rewind ${topic}-${partition}`, error)) : resolve(),
            ),
          ),
      ),
    )
    return assigned
  }

  private async replace(): Promise<void> {
    const fenced = this.consumer
    await new Promise<void>((resolve) => fenced.disconnect(() => resolve()))
    this.consumer = await open(this.config.global, this.config.topic, this.listener)
    this.fenced = false
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
    this.consumer.setDefaultConsumeTimeout(timeoutMs)
    return new Promise((resolve, reject) => {
      this.consumer.consume(maxMessages, (error, messages) => {
        this.idle = !error && messages.length === 0
        if (!error) return resolve(messages)
        // A timed-out or interrupted poll is not a failure; the loop asks again.
        if (error.code === CODES.ERRORS.ERR__TIMED_OUT || error.code === CODES.ERRORS.ERR__TIMED_OUT_QUEUE)
          return resolve([])
        // The thread was away longer than max.poll.interval.ms (a long commit): librdkafka left the
        // group and rejoins at this poll; the tasks it ran may be someone else's by now.
        // A fatal consumer error is a static member fenced: the thread's recovery replaces this consumer.
        if (error.code === CODES.ERRORS.ERR__MAX_POLL_EXCEEDED || error.code === CODES.ERRORS.ERR__FATAL) {
          if (error.code === CODES.ERRORS.ERR__FATAL) this.fenced = true
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

function isFatal(error: unknown): boolean {
  return (error as Kafka.LibrdKafkaError | undefined)?.code === CODES.ERRORS.ERR__FATAL
}

/** A consumer step of a migration's recovery failed: the thread recovers again. */
function rebalanceError(what: string, cause: Kafka.LibrdKafkaError): KafkaError {
  return new KafkaError('REBALANCE', `${what}: ${cause.message}`, { cause })
}
