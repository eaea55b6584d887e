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

/**
 * One replica of a topology (Kafka Streams' KafkaStreams): it owns the clients, runs a task per
 * assigned partition and drives the commit loop.
 *
 * Commit order, once, here: process a batch (outputs queued) → drain held records to the
 * producer → every commitIntervalMs commit, per partition, the end of the prefix of batches
 * whose outputs were all acknowledged. On stop: flush the producer, then commit synchronously.
 */
export class KubeStream {
  state = StreamState.CREATED
  readonly compiled: CompiledTopology
  private readonly log: Logger
  private readonly tasks = new Map<string, StreamTask>()
  private readonly consumedByTopic = new Map<string, number>()
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
        onRevoked: (partitions) => this.closeTasks(partitions),
      })
      this.consumer.onCommitError((error) => this.log.warn({ err: error }, 'offset commit failed; the next commit retries'))
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

  /** Finishes the batch in hand, flushes the producer, commits what was delivered, disconnects. */
  async stop(timeoutMs = this.graph.processing.shutdownTimeoutMs): Promise<void> {
    if (this.state === StreamState.CREATED || this.state === StreamState.NOT_RUNNING || this.state === StreamState.PENDING_SHUTDOWN) return
    if (this.state === StreamState.RUNNING) this.state = StreamState.PENDING_SHUTDOWN
    await this.loop?.catch(() => undefined)
    if (this.failure === undefined && this.collector && this.consumer) {
      await this.collector.drain()
      await this.collector.flush(timeoutMs)
      this.commitDelivered(true)
    }
    for (const task of this.tasks.values()) task.close()
    this.tasks.clear()
    await this.closeClients()
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
        if (Date.now() - lastCommit >= commitIntervalMs) {
          this.commitDelivered(false)
          lastCommit = Date.now()
        }
      }
      await next.catch(() => undefined)
    } catch (error) {
      this.failure = error
      this.state = StreamState.ERROR
      this.log.error({ err: error }, 'processing stopped by a fault; undelivered positions are not committed')
      throw error
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

  private commitDelivered(sync: boolean): void {
    const offsets: Array<TopicPartition & { offset: number }> = []
    for (const task of this.tasks.values()) {
      const offset = task.progress.takeCommittable()
      if (offset !== undefined) offsets.push({ topic: task.topic, partition: task.partition, offset })
    }
    if (sync) this.consumer?.commitSync(offsets)
    else this.consumer?.commit(offsets)
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

  /** On revoke: commit what is delivered for these partitions, then drop their tasks. */
  private closeTasks(partitions: TopicPartition[]): void {
    const offsets: Array<TopicPartition & { offset: number }> = []
    for (const { topic, partition } of partitions) {
      const task = this.tasks.get(taskKey(topic, partition))
      if (!task) continue
      const offset = task.progress.takeCommittable()
      if (offset !== undefined) offsets.push({ topic, partition, offset })
      task.close()
      this.tasks.delete(taskKey(topic, partition))
    }
    try {
      this.consumer?.commitSync(offsets)
    } catch (error) {
      this.log.warn({ err: error }, 'commit on revoke failed; the new owner will repeat some records')
    }
    this.log.info({ partitions: partitions.map((p) => `${p.topic}-${p.partition}`) }, 'partitions revoked')
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
