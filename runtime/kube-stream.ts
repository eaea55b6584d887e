import type Kafka from 'node-rdkafka'
import type { Registry } from 'prom-client'
import { BatchConsumer, type TopicPartition } from '../connectors/kafka/batch-consumer.js'
import { adminConfig, consumerConfig, producerConfig } from '../connectors/kafka/client-config.js'
import { KafkaError } from '../connectors/kafka/kafka-error.js'
import { RdkafkaRecordCollector } from '../connectors/kafka/rdkafka-record-collector.js'
import { TopicAdmin } from '../connectors/kafka/topic-admin.js'
import { buildPipeline, type CompiledTopology, compileTopology, type PipelineRuntime, type SubTopology } from '../topology/compile.js'
import type { TopologyGraph } from '../topology/graph.js'
import { DeadLetterWriter } from './dead-letter.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics } from './metrics.js'
import { StreamState } from './stream-state.js'
import { StreamTask } from './stream-task.js'

export interface KubeStreamOptions {
  logger?: Logger
}

/** Longer than librdkafka's default message.timeout.ms (300 s), after which an undelivered record fails on its own. */
const FLUSH_TIMEOUT_MS = 330_000

/** Partitions the group takes away, handed over by the run loop between two batches. */
interface Revocation {
  readonly partitions: TopicPartition[]
  readonly handedOver: () => void
}

/**
 * One replica of a topology (Kafka Streams' KafkaStreams): it owns the clients, runs a task per
 * assigned partition and drives the commit loop.
 *
 * Commit order, once, in `commit`: process batches (outputs handed to the producer) → every
 * commitIntervalMs, and before partitions are let go or the process stops: flush the producer
 * (every output acknowledged, or a delivery error stops the task) → commit, per partition, the
 * offset after the last record processed. Between the flush and the commit nothing is
 * processed, so a committed offset never runs ahead of a delivered output.
 */
export class KubeStream {
  state = StreamState.CREATED
  readonly compiled: CompiledTopology
  private readonly log: Logger
  private readonly tasks = new Map<string, StreamTask>()
  private readonly consumedByTopic = new Map<string, number>()
  private readonly revocations: Revocation[] = []
  /** The run loop is between start and its end: revocations wait for it (or for stop()). */
  private looping = false
  private collector: RdkafkaRecordCollector | undefined
  private consumer: BatchConsumer | undefined
  private admin: TopicAdmin | undefined
  private deadLetters: DeadLetterWriter | undefined
  private failure: unknown
  private loop: Promise<void> | undefined
  private registry: Registry | undefined
  private clientsClosed = false

  constructor(readonly graph: TopologyGraph, options: KubeStreamOptions = {}) {
    this.compiled = compileTopology(graph)
    this.log = options.logger ?? createLogger()
  }

  /** Connects, creates output topics, checks sources and starts consuming. Resolves once running. */
  async start(): Promise<void> {
    if (this.state !== StreamState.CREATED) throw new Error(`cannot start a KubeStream in state ${this.state}`)
    this.state = StreamState.STARTING
    const { graph } = this
    try {
      this.admin = new TopicAdmin(adminConfig(graph.kafka, graph.applicationId))
      this.collector = await RdkafkaRecordCollector.connect(producerConfig(graph.kafka, graph.applicationId), this.admin)
      for (const [topic, spec] of this.compiled.fixedTopics) await this.collector.ensureTopic(topic, spec)
      this.deadLetters = new DeadLetterWriter(graph.deadLetter.topic, graph.applicationId, this.collector)
      const startOffset = graph.sources.every((s) => s.startOffset === 'latest') ? 'latest' : 'earliest'
      const { global, topic } = consumerConfig(graph.kafka, graph.applicationId, startOffset)
      this.consumer = await BatchConsumer.connect(global, topic, {
        onAssigned: (partitions) => this.createTasks(partitions),
        onRevoked: (partitions) => this.revoke(partitions),
      })
      this.consumer.onCommitError((error) => {
        this.log.warn({ err: error }, 'offset commit failed; the next commit retries')
        for (const task of this.tasks.values()) task.progress.commitAgain()
      })
      await this.checkSourceTopics(this.consumer)
      this.consumer.subscribe(graph.sources.map((s) => s.topic))
    } catch (error) {
      this.state = StreamState.ERROR
      await this.closeClients()
      throw error
    }
    this.state = StreamState.RUNNING
    this.log.info({ applicationId: graph.applicationId, sources: graph.sources.map((s) => s.topic) }, 'running')
    this.loop = this.runLoop(this.consumer, this.collector)
  }

  /** Resolves when processing has ended: after stop(), or rejects with the fault that ended it. */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve()
  }

  /** Finishes the batch in hand, flushes the producer, commits what was processed, disconnects. */
  async stop(timeoutMs = this.graph.processing.shutdownTimeoutMs): Promise<void> {
    if (this.state === StreamState.CREATED || this.state === StreamState.NOT_RUNNING || this.state === StreamState.PENDING_SHUTDOWN) return
    if (this.state === StreamState.RUNNING) this.state = StreamState.PENDING_SHUTDOWN
    await this.loop?.catch(() => undefined)
    try {
      if (this.failure === undefined && this.collector && this.consumer) await this.commit(this.collector, this.consumer, true, timeoutMs)
    } finally {
      this.releaseRevoked()
      this.dropTasks([...this.tasks.values()])
      await this.closeClients()
    }
    if (this.failure === undefined) this.state = StreamState.NOT_RUNNING
    this.log.info({ state: this.state }, 'stopped')
  }

  /** Prometheus metrics of this instance. */
  get metrics(): Registry {
    this.registry ??= createMetrics(this.graph.applicationId, {
      consumedByTopic: this.consumedByTopic,
      producedByTopic: this.collector?.producedByTopic ?? new Map(),
      deadLetters: this.deadLetters?.counts ?? new Map(),
      activeTasks: () => this.tasks.size,
    })
    return this.registry
  }

  /** Plain counters, for the demo and tests. */
  get counters() {
    return {
      consumedByTopic: this.consumedByTopic as ReadonlyMap<string, number>,
      producedByTopic: (this.collector?.producedByTopic ?? new Map()) as ReadonlyMap<string, number>,
      deadLetters: (this.deadLetters?.counts ?? new Map()) as ReadonlyMap<string, number>,
    }
  }

  private async runLoop(consumer: BatchConsumer, collector: RdkafkaRecordCollector): Promise<void> {
    const { maxBatchSize, commitIntervalMs } = this.graph.processing
    this.looping = true
    let lastCommit = Date.now()
    // One consume is always in flight, so librdkafka's worker thread copies the next batch
    // while this thread processes the current one. A batch fetched but never processed is
    // simply not committed: it is read again after a restart or by the partition's next owner.
    let next = consumer.nextBatch(maxBatchSize)
    try {
      while (this.state === StreamState.RUNNING) {
        const messages = await next
        next = consumer.nextBatch(maxBatchSize)
        if (messages.length > 0) this.dispatch(messages)
        if (this.failure !== undefined) throw this.failure
        await collector.drain()
        if (this.revocations.length > 0) {
          await this.handOver(collector, consumer)
        } else if (Date.now() - lastCommit >= commitIntervalMs) {
          await this.commit(collector, consumer, false)
          lastCommit = Date.now()
        }
      }
      await next.catch(() => undefined)
    } catch (error) {
      this.failure = error
      this.state = StreamState.ERROR
      this.log.error({ err: error }, 'processing stopped by a fault; positions whose outputs were not flushed are not committed')
      this.releaseRevoked()
      throw error
    } finally {
      this.looping = false
    }
  }

  /**
   * The one commit point: everything sent so far is flushed (acknowledged by the broker, or a
   * delivery error throws), then the offset after the last processed record of each task is
   * committed. Synchronously where nothing may be lost (revoke, stop); in the background
   * otherwise, a failed background commit being retried by the next one.
   */
  private async commit(collector: RdkafkaRecordCollector, consumer: BatchConsumer, sync: boolean, flushTimeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
    await collector.flush(flushTimeoutMs)
    const offsets: Array<TopicPartition & { offset: number }> = []
    for (const task of this.tasks.values()) {
      const offset = task.progress.takeCommittable()
      if (offset !== undefined) offsets.push({ topic: task.topic, partition: task.partition, offset })
    }
    if (sync) consumer.commitSync(offsets)
    else consumer.commit(offsets)
  }

  /**
   * Commits, then drops the tasks of revoked partitions and lets the group have them. A commit
   * the group refuses (this member was already fenced out) only means the next owner repeats
   * records; a failed delivery stops the task.
   */
  private async handOver(collector: RdkafkaRecordCollector, consumer: BatchConsumer): Promise<void> {
    const revocations = this.revocations.splice(0)
    try {
      await this.commit(collector, consumer, true)
    } catch (error) {
      if (!(error instanceof KafkaError && error.code === 'COMMIT')) {
        this.revocations.unshift(...revocations)
        throw error
      }
      this.log.warn({ err: error }, 'commit on revoke failed; the next owner repeats records since the last commit')
    }
    for (const { partitions, handedOver } of revocations) {
      this.dropTasks(this.tasksOf(partitions))
      handedOver()
      this.log.info({ partitions: partitions.map((p) => `${p.topic}-${p.partition}`) }, 'partitions revoked')
    }
  }

  /** Splits a consumed batch by partition (order within a partition kept) and runs each task once. */
  private dispatch(messages: Kafka.Message[]): void {
    const byTask = new Map<StreamTask, Kafka.Message[]>()
    for (const message of messages) {
      const task = this.tasks.get(taskKey(message.topic, message.partition))
      if (!task) continue // revoked while the batch was in flight; the new owner reads it again
      let group = byTask.get(task)
      if (!group) byTask.set(task, (group = []))
      group.push(message)
    }
    for (const [task, group] of byTask) {
      this.consumedByTopic.set(task.topic, (this.consumedByTopic.get(task.topic) ?? 0) + group.length)
      task.process(group)
    }
  }

  private createTasks(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const subTopology = this.compiled.subTopologies.find((s) => s.source.topic === topic)
      if (!subTopology || this.tasks.has(taskKey(topic, partition))) continue
      this.tasks.set(taskKey(topic, partition), this.createTask(subTopology, partition))
    }
    this.log.info({ partitions: partitions.map((p) => `${p.topic}-${p.partition}`) }, 'partitions assigned')
  }

  private createTask(subTopology: SubTopology, partition: number): StreamTask {
    const deadLetters = this.deadLetters!
    const runtime: PipelineRuntime = {
      collector: this.collector!,
      deadLetter: (record, error, step) => deadLetters.write(record, error, step),
      fail: (error) => { this.failure ??= error },
    }
    const { source } = subTopology
    return new StreamTask(`${subTopology.id}_${partition}`, source.name, source.topic, partition, subTopology.valueSerde, buildPipeline(subTopology, runtime), runtime)
  }

  /**
   * The group takes partitions away. While the run loop runs, it hands them over between two
   * batches (flush, commit, drop the tasks), or stop() does when it has committed; once the
   * clients are closing, there is nothing left to commit.
   */
  private revoke(partitions: TopicPartition[]): Promise<void> {
    if (!this.looping) {
      this.dropTasks(this.tasksOf(partitions))
      return Promise.resolve()
    }
    return new Promise((handedOver) => this.revocations.push({ partitions, handedOver }))
  }

  /** Lets the group have partitions still waiting, committed or not: their next owner repeats what was not. */
  private releaseRevoked(): void {
    for (const { partitions, handedOver } of this.revocations.splice(0)) {
      this.dropTasks(this.tasksOf(partitions))
      handedOver()
    }
  }

  private tasksOf(partitions: TopicPartition[]): StreamTask[] {
    return partitions.flatMap(({ topic, partition }) => this.tasks.get(taskKey(topic, partition)) ?? [])
  }

  private dropTasks(tasks: StreamTask[]): void {
    for (const task of tasks) {
      task.close()
      this.tasks.delete(taskKey(task.topic, task.partition))
    }
  }

  private async checkSourceTopics(consumer: BatchConsumer): Promise<void> {
    const counts = await consumer.partitionCounts(this.graph.sources.map((s) => s.topic))
    const missing = [...counts].filter(([, count]) => count === undefined).map(([topic]) => topic)
    if (missing.length > 0) {
      throw new KafkaError('MISSING_SOURCE_TOPIC', `source topic(s) ${missing.join(', ')} do not exist; create them first (kubestream never auto-creates inputs)`, true)
    }
  }

  /** Once only: a fault and a signal may both ask for it. */
  private async closeClients(): Promise<void> {
    if (this.clientsClosed) return
    this.clientsClosed = true
    await this.consumer?.close()
    await this.collector?.close()
    this.admin?.close()
  }
}

function taskKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
