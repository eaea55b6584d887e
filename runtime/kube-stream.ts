import type Kafka from 'node-rdkafka'
import type { Registry } from 'prom-client'
import { BatchConsumer, type TopicPartition } from '../connectors/kafka/batch-consumer.js'
import { adminConfig, type ClientIdentity, consumerConfig, producerConfig } from '../connectors/kafka/client-config.js'
import { KafkaError } from '../connectors/kafka/kafka-error.js'
import { RdkafkaRecordCollector } from '../connectors/kafka/rdkafka-record-collector.js'
import { TopicAdmin } from '../connectors/kafka/topic-admin.js'
import { type CompiledTopology, compileTopology } from '../topology/compile.js'
import type { TopologyGraph } from '../topology/graph.js'
import { DeadLetterWriter } from './dead-letter.js'
import { prepareInternalTopics } from './internal-topics.js'
import { ReplicaState } from './replica-state.js'
import { type IngestMode, SourceIngest } from './source-ingest.js'
import { createLogger, type Logger } from '../core/logger.js'
import { createMetrics } from './metrics.js'
import { StreamState } from './stream-state.js'
import { TaskState } from './stream-task.js'
import { TaskManager } from './task-manager.js'

export interface KubeStreamOptions {
  logger?: Logger
  /** Where stores live; else $KUBESTREAM_STATE_DIR, else the topology's processing.stateDir, else /tmp/kubestream. */
  stateDir?: string
  /**
   * This replica's stable name (the StatefulSet pod name): the consumer's group.instance.id
   * (static membership) and, under exactly-once, part of the transactional.id. Defaults to
   * $KUBESTREAM_INSTANCE_ID, then $POD_NAME.
   */
  instanceId?: string
  /** Whether this replica reads the topology's non-Kafka sources (a tracer), its steps, or both (default). */
  ingest?: IngestMode
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
 * assigned (sub-topology, partition), restores their stores and drives the commit loop.
 *
 * The commit order, once, in `commit`: process batches (outputs handed to the producer, store
 * writes to each task's write buffer) → every commitIntervalMs, before partitions are let go,
 * and when the process stops:
 *   1. send each store's buffered changes to its changelog;
 *   2. flush the producer (every output and changelog record acknowledged, or a delivery error
 *      stops the replica);
 *   3. commit the input offsets — at-least-once: the consumer commits them; exactly-once: they
 *      join the transaction, which commits outputs, changelogs and offsets atomically;
 *   4. apply the buffered changes to LMDB with each store's new checkpoint (the changelog's
 *      end offset) in one LMDB transaction.
 * Between steps nothing is processed. LMDB is never ahead of Kafka: a crash before step 4
 * leaves the checkpoint behind, and the restore replays the changelog's tail.
 */
export class KubeStream {
  state = StreamState.CREATED
  readonly compiled: CompiledTopology
  private readonly log: Logger
  private readonly consumedByTopic = new Map<string, number>()
  private readonly revocations: Revocation[] = []
  private readonly identity: ClientIdentity
  private readonly stateDirPath: string
  private readonly taskManager: TaskManager
  /** The run loop is between start and its end: revocations wait for it (or for stop()). */
  private looping = false
  private collector: RdkafkaRecordCollector | undefined
  private consumer: BatchConsumer | undefined
  private admin: TopicAdmin | undefined
  private replicaState: ReplicaState | undefined
  private ingest: SourceIngest | undefined
  private readonly ingestMode: IngestMode
  private deadLetters: DeadLetterWriter | undefined
  private failure: unknown
  private loop: Promise<void> | undefined
  private registry: Registry | undefined
  private clientsClosed = false
  private assigned = false
  private readonly windowCounters = { lateRecords: 0 }
  /** Milliseconds each step (and each non-Kafka source) has spent processing, by name. */
  private readonly processMs = new Map<string, number>()

  constructor(readonly graph: TopologyGraph, options: KubeStreamOptions = {}) {
    this.compiled = compileTopology(graph)
    this.log = options.logger ?? createLogger()
    const instanceId = options.instanceId ?? (process.env.KUBESTREAM_INSTANCE_ID || process.env.POD_NAME || undefined)
    this.identity = {
      instanceId,
      exactlyOnce: graph.processing.guarantee === 'exactly_once',
      coPartitioned: this.compiled.subTopologies.some((sub) => sub.inputs.length > 1),
    }
    this.ingestMode = SourceIngest.hasSources(graph) ? options.ingest ?? 'on' : 'off'
    this.stateDirPath = options.stateDir ?? (process.env.KUBESTREAM_STATE_DIR || graph.processing.stateDir || '/tmp/kubestream')
    // Tasks exist only once start() has connected the clients they write to.
    this.taskManager = new TaskManager(this.compiled, () => ({
      collector: this.collector!,
      deadLetter: (record, error, step) => this.deadLetters!.write(record, error, step),
      fail: (error) => { this.failure ??= error },
      windowCounters: this.windowCounters,
      processMs: this.processMs,
      globalTable: (name) => this.replicaState!.globalTable(name),
    }), () => this.replicaState!.directory, (tasks) => this.replicaState?.tasksChanged(tasks))
  }

  /** Connects, creates internal and output topics, checks sources and starts consuming. Resolves once running. */
  async start(): Promise<void> {
    if (this.state !== StreamState.CREATED) throw new Error(`cannot start a KubeStream in state ${this.state}`)
    this.state = StreamState.STARTING
    const { graph, identity } = this
    try {
      this.admin = new TopicAdmin(adminConfig(graph.kafka, graph.applicationId))
      this.collector = await RdkafkaRecordCollector.connect(producerConfig(graph.kafka, graph.applicationId, identity), this.admin)
      for (const [topic, spec] of this.compiled.fixedTopics) await this.collector.ensureTopic(topic, spec)
      this.deadLetters = new DeadLetterWriter(graph.deadLetter.topic, graph.applicationId, this.collector)
      const startOffset = graph.sources.every((s) => s.startOffset === 'latest') ? 'latest' : 'earliest'
      const { global, topic } = consumerConfig(graph.kafka, graph.applicationId, startOffset, identity)
      this.consumer = await BatchConsumer.connect(global, topic, {
        onAssigned: (partitions) => this.assign(partitions),
        onRevoked: (partitions) => this.revoke(partitions),
      })
      this.consumer.onCommitError((error) => {
        this.log.warn({ err: error }, 'offset commit failed; the next commit retries')
        for (const task of this.taskManager.all()) task.commitAgain()
      })
      const layout = await prepareInternalTopics(this.compiled, this.consumer, this.collector)
      this.replicaState = await ReplicaState.open({
        compiled: this.compiled,
        graph,
        identity,
        dir: this.stateDirPath,
        layout,
        deadLetter: (record, error, step) => this.deadLetters!.write(record, error, step),
        log: this.log,
        sourcesWithState: this.ingestMode !== 'off',
        runsSteps: this.ingestMode !== 'only',
      })
      if (this.ingestMode !== 'off') this.ingest = SourceIngest.open(graph, this.replicaState!.directory, identity, this.processMs, this.log)
      const topics = this.ingestMode === 'only' ? [] : this.compiled.subTopologies.flatMap((sub) => sub.inputs.map((i) => i.source.topic))
      if (topics.length > 0) this.consumer.subscribe(topics)
      // Nothing to be assigned: ready as soon as it runs.
      else this.assigned = true
    } catch (error) {
      this.state = StreamState.ERROR
      await this.closeClients()
      throw error
    }
    this.state = StreamState.RUNNING
    this.log.info({ applicationId: graph.applicationId, guarantee: graph.processing.guarantee, instanceId: identity.instanceId, sources: graph.sources.map((s) => s.topic) }, 'running')
    this.ingest?.start()
    this.loop = this.runLoop(this.consumer, this.collector)
  }

  /** Resolves when processing has ended: after stop(), or rejects with the fault that ended it. */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve()
  }

  /** Running, in the group (its first assignment came, even an empty one), and no task still restoring: what /readyz reports. */
  get ready(): boolean {
    return this.state === StreamState.RUNNING && this.assigned && this.taskManager.inState(TaskState.RESTORING).length === 0
  }

  /** Finishes the batch in hand, flushes the producer, commits what was processed, disconnects. */
  async stop(timeoutMs = this.graph.processing.shutdownTimeoutMs): Promise<void> {
    if (this.state === StreamState.CREATED || this.state === StreamState.NOT_RUNNING || this.state === StreamState.PENDING_SHUTDOWN) return
    if (this.state === StreamState.RUNNING) this.state = StreamState.PENDING_SHUTDOWN
    // Documents read but not landed are read again: their counters were never committed.
    await this.ingest?.stop()
    await this.loop?.catch(() => undefined)
    try {
      if (this.failure === undefined && this.collector && this.consumer) await this.commitOnShutdown(this.collector, this.consumer, timeoutMs)
    } finally {
      this.releaseRevoked()
      this.taskManager.close(this.taskManager.all())
      await this.closeClients()
    }
    if (this.failure === undefined) this.state = StreamState.NOT_RUNNING
    this.log.info({ state: this.state }, 'stopped')
  }

  /**
   * The last commit. One the group refuses (it rebalanced while this member was leaving, as
   * when replicas restart together) is not a failed shutdown: the next owner repeats the
   * records since the last commit, as Kafka Streams does when a commit on close fails so.
   */
  private async commitOnShutdown(collector: RdkafkaRecordCollector, consumer: BatchConsumer, timeoutMs: number): Promise<void> {
    try {
      await this.commit(collector, consumer, true, timeoutMs)
    } catch (error) {
      if (!refusedByGroup(error)) throw error
      this.log.warn({ err: error }, 'the group refused the commit on shutdown; the next owner repeats records since the last commit')
    }
  }

  /** Prometheus metrics of this instance. */
  get metrics(): Registry {
    this.registry ??= createMetrics(this.graph.applicationId, {
      consumedByTopic: this.consumedByTopic,
      producedByTopic: this.collector?.producedByTopic ?? new Map(),
      deadLetters: this.deadLetters?.counts ?? new Map(),
      activeTasks: () => this.taskManager.size,
      restoringTasks: () => this.taskManager.inState(TaskState.RESTORING).length,
      restoredRecords: () => this.replicaState?.restoredRecords ?? 0,
      standbyRecords: () => this.replicaState?.standbyRecords ?? 0,
      globalTableRecords: () => this.replicaState?.globalTableRecords ?? 0,
      lateRecords: () => this.windowCounters.lateRecords,
      processMs: this.processMs,
      sourceErrors: () => this.ingest?.errors ?? new Map(),
      sourceDocuments: () => this.ingest?.documents ?? new Map(),
      sourceLeaders: () => this.ingest?.leaders ?? new Map(),
    })
    return this.registry
  }

  /** Plain counters, for the demo and tests. */
  get counters() {
    return {
      consumedByTopic: this.consumedByTopic as ReadonlyMap<string, number>,
      producedByTopic: (this.collector?.producedByTopic ?? new Map()) as ReadonlyMap<string, number>,
      deadLetters: (this.deadLetters?.counts ?? new Map()) as ReadonlyMap<string, number>,
      restoredRecords: this.replicaState?.restoredRecords ?? 0,
      standbyRecords: this.replicaState?.standbyRecords ?? 0,
      globalTableRecords: this.replicaState?.globalTableRecords ?? 0,
      sourceDocuments: (this.ingest?.documents ?? new Map()) as ReadonlyMap<string, number>,
      lateRecords: this.windowCounters.lateRecords,
      processMs: this.processMs as ReadonlyMap<string, number>,
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
        await this.replicaState?.poll()
        // Tasks assigned during that poll restore before any of their records is processed.
        if (this.taskManager.inState(TaskState.RESTORING).length > 0) {
          await this.commit(collector, consumer, true)
          await this.replicaState!.restore(this.taskManager.inState(TaskState.RESTORING))
          lastCommit = Date.now()
        }
        this.dispatch(messages)
        this.ingest?.land(collector, (record, error, step) => this.deadLetters!.write(record, error, step))
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

  /** The one commit point; the order is written down at the top of this class. */
  private async commit(collector: RdkafkaRecordCollector, consumer: BatchConsumer, sync: boolean, flushTimeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
    const tasks = this.taskManager.inState(TaskState.RUNNING)
    const now = Date.now()
    for (const task of tasks) task.stores?.sendChangelog(collector, now)
    this.ingest?.sendChangelog(collector, now)
    const offsets = tasks.flatMap((task) => task.committableOffsets())
    if (this.identity.exactlyOnce) {
      await collector.commitTransaction(offsets, consumer.consumer, flushTimeoutMs)
    } else {
      await collector.flush(flushTimeoutMs)
      if (sync) consumer.commitSync(offsets)
      else consumer.commit(offsets)
    }
    await this.replicaState?.checkpoint(tasks, collector)
    await this.ingest?.checkpoint(this.replicaState!.directory, (topic, partition) => collector.endOffset(topic, partition))
  }

  /**
   * Commits, then closes the tasks of revoked partitions and lets the group have them. A commit
   * the group refuses (this member was already fenced out) only means the next owner repeats
   * records; a failed delivery stops the task.
   */
  private async handOver(collector: RdkafkaRecordCollector, consumer: BatchConsumer): Promise<void> {
    const revocations = this.revocations.splice(0)
    try {
      await this.commit(collector, consumer, true)
    } catch (error) {
      if (!refusedByGroup(error)) {
        this.revocations.unshift(...revocations)
        throw error
      }
      this.log.warn({ err: error }, 'commit on revoke failed; the next owner repeats records since the last commit')
    }
    for (const { partitions, handedOver } of revocations) {
      this.taskManager.close(this.taskManager.tasksOf(partitions))
      handedOver()
      this.log.info({ partitions: partitions.map((p) => `${p.topic}-${p.partition}`) }, 'partitions revoked')
    }
  }

  private dispatch(messages: Kafka.Message[]): void {
    const consumer = this.consumer!
    const counts = this.taskManager.dispatch(messages, (topic, partition, next) => consumer.caughtUp(topic, partition, next), this.graph.processing.maxTaskIdleMs)
    for (const [topic, count] of counts) this.consumedByTopic.set(topic, (this.consumedByTopic.get(topic) ?? 0) + count)
  }

  private assign(partitions: TopicPartition[]): void {
    this.assigned = true
    try {
      this.taskManager.assign(partitions)
    } catch (error) {
      // A task whose stores another live process holds: this replica cannot run it.
      this.failure ??= error
    }
    this.log.info({ partitions: partitions.map((p) => `${p.topic}-${p.partition}`) }, 'partitions assigned')
  }

  /**
   * The group takes partitions away. While the run loop runs, it hands them over between two
   * batches (flush, commit, close the tasks), or stop() does when it has committed; once the
   * clients are closing, there is nothing left to commit.
   */
  private revoke(partitions: TopicPartition[]): Promise<void> {
    if (!this.looping) {
      this.taskManager.close(this.taskManager.tasksOf(partitions))
      return Promise.resolve()
    }
    return new Promise((handedOver) => this.revocations.push({ partitions, handedOver }))
  }

  /** Lets the group have partitions still waiting, committed or not: their next owner repeats what was not. */
  private releaseRevoked(): void {
    for (const { partitions, handedOver } of this.revocations.splice(0)) {
      this.taskManager.close(this.taskManager.tasksOf(partitions))
      handedOver()
    }
  }

  /** Once only: a fault and a signal may both ask for it. */
  private async closeClients(): Promise<void> {
    if (this.clientsClosed) return
    this.clientsClosed = true
    await this.ingest?.stop()
    await this.ingest?.close()
    await this.consumer?.close()
    await this.collector?.close()
    this.admin?.close()
    await this.replicaState?.close()
  }
}

/** The group refused an offset commit: this member's generation is over, its partitions are someone else's. */
function refusedByGroup(error: unknown): boolean {
  return error instanceof KafkaError && error.code === 'COMMIT'
}
