import { hostname } from 'node:os'
import type { Registry } from 'prom-client'
import { describeRefused } from '../connectors/kafka/access-error.js'
import { BatchConsumer } from '../connectors/kafka/batch-consumer.js'
import { adminConfig, type ClientIdentity, consumerConfig, producerConfig } from '../connectors/kafka/client-config.js'
import { RdkafkaRecordCollector } from '../connectors/kafka/rdkafka-record-collector.js'
import { RecordsAdmin } from '../connectors/kafka/records-admin.js'
import { TopicAdmin } from '../connectors/kafka/topic-admin.js'
import { createLogger, type Logger } from '../core/logger.js'
import type { RecordCollector } from '../core/record-collector.js'
import type { RecordConsumer } from '../core/record-consumer.js'
import { WindowedStats } from '../core/windowed-stats.js'
import { type CompiledTopology, compileTopology } from '../topology/compile.js'
import { describeGraph } from '../topology/describe.js'
import type { TopologyGraph } from '../topology/graph.js'
import type { CommitHooks } from './commit.js'
import { type ConsoleStatus, consoleStatus } from './console/console-status.js'
import { layoutTopology, type TopologyLayout } from './console/topology-layout.js'
import { DeadLetterWriter } from './dead-letter.js'
import { prepareInternalTopics, REPARTITION_TOPIC_CONFIG } from './internal-topics.js'
import { registerKafkaStreamsMetrics } from './kafka-streams-metrics.js'
import { createMetrics } from './metrics.js'
import { QueryService } from './queries/query-service.js'
import { ReplicaStores } from './queries/replica-stores.js'
import { RoutingTopic } from './queries/routing-topic.js'
import { StoreCatalog } from './queries/store-catalog.js'
import { RepartitionPurge } from './repartition-purge.js'
import { ReplicaState } from './replica-state.js'
import { type IngestMode, SourceIngest } from './source-ingest.js'
import { StreamState } from './stream-state.js'
import { TaskState } from './stream-task.js'
import { StreamThread } from './stream-thread.js'
import { TaskManager } from './task-manager.js'
import { ThreadMeters } from './thread-meters.js'

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
  /** Fault-injection tests wait inside the commit here; see CommitHooks. */
  commitHooks?: CommitHooks
  /**
   * Where this replica answers interactive queries (its HTTP server, as the other replicas
   * reach it). When set and the topology has stores, the replicas advertise their store
   * partitions to each other and `queries` answers for every key.
   */
  advertisedUrl?: string
  /** The bearer token the replicas' HTTP servers require, sent with forwarded queries. */
  httpToken?: string
}

/**
 * One replica of a topology (Kafka Streams' KafkaStreams): it owns the clients, the state and
 * the tasks, runs the stream thread (the run loop and the commit, in `stream-thread.ts` and
 * `commit.ts`) and stops it. Its lifecycle is StreamState's.
 */
export class KubeStream {
  state = StreamState.CREATED
  readonly compiled: CompiledTopology
  private readonly log: Logger
  private readonly consumedByTopic = new Map<string, number>()
  private readonly identity: ClientIdentity
  private readonly stateDirPath: string
  private readonly taskManager: TaskManager
  private readonly ingestMode: IngestMode
  private readonly commitHooks: CommitHooks | undefined
  private readonly queryOptions: Pick<KubeStreamOptions, 'advertisedUrl' | 'httpToken'>
  private collector: RdkafkaRecordCollector | undefined
  private consumer: BatchConsumer | undefined
  private admin: TopicAdmin | undefined
  private recordsAdmin: RecordsAdmin | undefined
  private purge: RepartitionPurge | undefined
  private replicaState: ReplicaState | undefined
  private ingest: SourceIngest | undefined
  private deadLetters: DeadLetterWriter | undefined
  private thread: StreamThread | undefined
  private routing: RoutingTopic | undefined
  private replicaStores: ReplicaStores | undefined
  /** Interactive queries, when the replica advertises a URL and the topology has stores. */
  queries: QueryService | undefined
  private loop: Promise<void> | undefined
  private registry: Registry | undefined
  private layout: TopologyLayout | undefined
  private clientsClosed = false
  private readonly windowCounters = { lateRecords: 0 }
  /** Milliseconds each step (and each non-Kafka source) has spent processing, by name. */
  private readonly processMs = new Map<string, number>()
  /** Records handed to each step and sink, by name. */
  private readonly stepRecords = new Map<string, number>()
  private readonly threadMeters = new ThreadMeters()
  /** Per sink, shared by the tasks that write through it. */
  private readonly e2eLatency = new Map<string, WindowedStats>()

  constructor(
    readonly graph: TopologyGraph,
    options: KubeStreamOptions = {},
  ) {
    this.compiled = compileTopology(graph)
    this.log = options.logger ?? createLogger()
    const instanceId = options.instanceId ?? (process.env.KUBESTREAM_INSTANCE_ID || process.env.POD_NAME || undefined)
    this.identity = {
      instanceId,
      exactlyOnce: graph.processing.guarantee === 'exactly_once',
    }
    this.ingestMode = SourceIngest.hasSources(graph) ? (options.ingest ?? 'on') : 'off'
    this.commitHooks = options.commitHooks
    this.queryOptions = { advertisedUrl: options.advertisedUrl, httpToken: options.httpToken }
    this.stateDirPath =
      options.stateDir ?? (process.env.KUBESTREAM_STATE_DIR || graph.processing.stateDir || '/tmp/kubestream')
    // Tasks exist only once start() has connected the clients they write to.
    this.taskManager = new TaskManager(
      this.compiled,
      () => ({
        collector: this.collector!,
        deadLetter: (record, error, step) => this.deadLetters!.write(record, error, step),
        fail: (error) => this.thread!.fail(error),
        windowCounters: this.windowCounters,
        processMs: this.processMs,
        stepRecords: this.stepRecords,
        e2eLatency: (sink) => {
          let stats = this.e2eLatency.get(sink)
          if (!stats) this.e2eLatency.set(sink, (stats = new WindowedStats()))
          return stats
        },
        globalTable: (name) => this.replicaState!.globalTable(name),
      }),
      () => this.replicaState!.directory,
      (tasks) => {
        this.replicaState?.tasksChanged(tasks)
        if (this.replicaStores) this.routing?.advertise(this.replicaStores.advert())
      },
    )
  }

  /** Connects, creates internal and output topics, checks sources and starts consuming. Resolves once running. */
  async start(): Promise<void> {
    if (this.state !== StreamState.CREATED) throw new Error(`cannot start a KubeStream in state ${this.state}`)
    this.state = StreamState.STARTING
    const { graph, identity } = this
    let thread: StreamThread
    try {
      this.admin = new TopicAdmin(adminConfig(graph.kafka, graph.applicationId))
      const collector = (this.collector = await RdkafkaRecordCollector.connect(
        producerConfig(graph.kafka, graph.applicationId, identity),
        this.admin,
      ))
      for (const [topic, spec] of this.compiled.fixedTopics) await collector.ensureTopic(topic, spec)
      const deadLetters = (this.deadLetters = new DeadLetterWriter(
        graph.deadLetter.topic,
        graph.applicationId,
        collector,
      ))
      const deadLetter = deadLetters.write.bind(deadLetters)
      const startOffset = graph.sources.every((s) => s.startOffset === 'latest') ? 'latest' : 'earliest'
      const { global, topic } = consumerConfig(graph.kafka, graph.applicationId, startOffset, identity)
      const consumer = (this.consumer = await BatchConsumer.connect(global, topic, {
        onAssigned: (partitions) => this.thread!.assign(partitions),
        onRevoked: (partitions) => this.thread!.revoke(partitions),
        // Before the thread exists nothing is consumed: a refusal then comes again with the first consume.
        onFailure: (error) => this.thread?.fail(error),
      }))
      const layout = await prepareInternalTopics(this.compiled, consumer, collector, (topics) =>
        this.refusedTopicsError(topics),
      )
      await this.startRepartitionPurge()
      this.replicaState = await ReplicaState.open({
        compiled: this.compiled,
        graph,
        identity,
        dir: this.stateDirPath,
        layout,
        deadLetter,
        log: this.log,
        sourcesWithState: this.ingestMode !== 'off',
        runsSteps: this.ingestMode !== 'only',
      })
      await this.startQueries(layout.subTopologies)
      if (this.ingestMode !== 'off')
        this.ingest = await SourceIngest.open(graph, this.replicaState!.directory, identity, this.processMs, this.log)
      thread = this.thread = this.newThread(consumer, collector, deadLetter)
      const topics =
        this.ingestMode === 'only'
          ? []
          : this.compiled.subTopologies.flatMap((sub) => sub.inputs.map((i) => i.source.topic))
      if (topics.length > 0) consumer.subscribe(topics)
      else thread.markAssigned()
    } catch (error) {
      this.state = StreamState.ERROR
      await this.closeClients()
      throw error
    }
    this.state = StreamState.RUNNING
    this.log.info(
      {
        applicationId: graph.applicationId,
        guarantee: graph.processing.guarantee,
        instanceId: identity.instanceId,
        sources: graph.sources.map((s) => s.topic),
      },
      'running',
    )
    this.ingest?.start()
    this.loop = thread.run().catch((error: unknown) => {
      this.state = StreamState.ERROR
      throw error
    })
  }

  /** Resolves when processing has ended: after stop(), or rejects with the fault that ended it. */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve()
  }

  /**
   * Running, in the group (its first assignment came, even an empty one), and no task still restoring: what /readyz
   * reports.
   */
  get ready(): boolean {
    return (
      this.state === StreamState.RUNNING &&
      this.thread?.assigned === true &&
      this.taskManager.inState(TaskState.RESTORING).length === 0
    )
  }

  /** Finishes the batch in hand, flushes the producer, commits what was processed, disconnects. */
  async stop(timeoutMs = this.graph.processing.shutdownTimeoutMs): Promise<void> {
    if (
      this.state === StreamState.CREATED ||
      this.state === StreamState.NOT_RUNNING ||
      this.state === StreamState.PENDING_SHUTDOWN
    )
      return
    if (this.state === StreamState.RUNNING) this.state = StreamState.PENDING_SHUTDOWN
    this.thread?.requestStop()
    await this.routing?.withdraw(this.instanceName).catch((error: unknown) => {
      this.log.warn({ err: error }, 'cannot withdraw this replica query routing advert; later claims replace it')
    })
    // Documents read but not landed are read again: their counters were never committed.
    await this.ingest?.stop()
    await this.loop?.catch(() => undefined)
    try {
      await this.thread?.shutdown(timeoutMs)
    } finally {
      await this.closeClients()
    }
    if (this.thread?.failed === undefined) this.state = StreamState.NOT_RUNNING
    this.log.info({ state: this.state }, 'stopped')
  }

  /** Prometheus metrics of this instance. */
  get metrics(): Registry {
    if (this.registry) return this.registry
    this.registry = createMetrics(this.graph.applicationId, {
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
      stepRecords: this.stepRecords,
      sourceErrors: () => this.ingest?.errors ?? new Map(),
      sourceDocuments: () => this.ingest?.documents ?? new Map(),
      sourceLeaders: () => this.ingest?.leaders ?? new Map(),
    })
    registerKafkaStreamsMetrics(this.registry, {
      threadId: `${this.identity.instanceId ?? this.graph.applicationId}-StreamThread-1`,
      thread: this.threadMeters,
      tasks: () => this.taskManager.all(),
      e2eLatency: this.e2eLatency,
      level: this.graph.processing.metricsRecordingLevel,
    })
    return this.registry
  }

  /** The instance id; without one, a name no other replica has (the page and query routing show it). */
  private get instanceName(): string {
    return this.identity.instanceId ?? `${hostname()}-${process.pid}`
  }

  /** The topology page's data (see http-server.ts). */
  readonly console = {
    topology: (): TopologyLayout => (this.layout ??= layoutTopology(describeGraph(this.graph))),
    status: (): ConsoleStatus =>
      consoleStatus({
        applicationId: this.graph.applicationId,
        instance: this.instanceName,
        state: this.state,
        ready: this.ready,
        meters: this.threadMeters,
        layout: this.console.topology(),
        consumedByTopic: this.consumedByTopic,
        producedByTopic: this.collector?.producedByTopic ?? new Map(),
        stepRecords: this.stepRecords,
        tasks: this.taskManager.all(),
        fetchedEnd: (topic, partition) => this.consumer?.fetchedEnd(topic, partition),
        deadLetterCounts: this.deadLetters?.counts ?? new Map(),
        latestDeadLetters: this.deadLetters?.latest ?? [],
      }),
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

  private newThread(
    consumer: RecordConsumer,
    collector: RecordCollector,
    deadLetter: DeadLetterWriter['write'],
  ): StreamThread {
    return new StreamThread({
      consumer,
      collector,
      tasks: this.taskManager,
      processing: this.graph.processing,
      exactlyOnce: this.identity.exactlyOnce === true,
      state: this.replicaState,
      ingest: this.ingest,
      deadLetter,
      log: this.log,
      consumedByTopic: this.consumedByTopic,
      commitHooks: this.commitHooks,
      meters: this.threadMeters,
    })
  }

  /**
   * librdkafka's metadata leaves out topics this client may not DESCRIBE, as if they did not
   * exist: asked again by the records admin, they name the ACL that is missing.
   */
  private async refusedTopicsError(topics: string[]): Promise<Error | undefined> {
    const config = adminConfig(this.graph.kafka, this.graph.applicationId)
    let admin: RecordsAdmin
    try {
      admin = await RecordsAdmin.create(config, `${this.graph.applicationId}-metadata`)
    } catch {
      return undefined
    }
    try {
      const refused = await admin.undescribableTopics(topics)
      return refused.length === 0 ? undefined : describeRefused(refused, config)
    } finally {
      await admin.close().catch(() => undefined)
    }
  }

  /**
   * Repartition topics made by an older kubestream get their retention (best effort: a
   * replica without the right to alter configs still runs), then the purge of what the group
   * committed starts.
   */
  private async startRepartitionPurge(): Promise<void> {
    const topics = new Set(
      this.compiled.subTopologies.flatMap((sub) => sub.inputs.flatMap((input) => input.repartition?.topic ?? [])),
    )
    if (topics.size === 0) return
    const { graph, log } = this
    try {
      this.recordsAdmin = await RecordsAdmin.create(
        adminConfig(graph.kafka, graph.applicationId),
        `${graph.applicationId}-purge`,
      )
    } catch (error) {
      log.warn({ err: error }, 'repartition records will not be purged: the records admin cannot connect')
      return
    }
    for (const topic of topics) {
      const changed = await this.recordsAdmin
        .ensureTopicConfig(topic, REPARTITION_TOPIC_CONFIG)
        .catch((error: unknown) => {
          log.warn(
            { err: error, topic },
            'cannot give the repartition topic its retention; old events may be deleted unread',
          )
          return []
        })
      if (changed.length > 0) log.info({ topic, changed }, 'repartition topic configured as Kafka Streams does')
    }
    this.purge = new RepartitionPurge(
      this.recordsAdmin,
      graph.applicationId,
      graph.processing.repartitionPurgeIntervalMs,
      log,
    )
    this.purge.start(() =>
      this.taskManager
        .inState(TaskState.RUNNING)
        .flatMap((task) =>
          [...task.inputs.keys()]
            .filter((topic) => topics.has(topic))
            .map((topic) => ({ topic, partition: task.partition })),
        ),
    )
  }

  /** Opens the query routing and the query service, when this replica advertises a URL and has stores to query. */
  private async startQueries(partitionsOf: ReadonlyMap<number, number>): Promise<void> {
    const { advertisedUrl, httpToken } = this.queryOptions
    if (advertisedUrl === undefined || this.ingestMode === 'only') return
    if (!this.compiled.subTopologies.some((sub) => sub.stores.size > 0)) return
    const { graph } = this
    try {
      this.routing = await RoutingTopic.open(graph.kafka, graph.applicationId, this.admin!, this.log)
    } catch (error) {
      // Processing does not need queries: a missing ACL on the routing topic turns them off, said once.
      this.log.warn({ err: error }, 'interactive queries are off: the query routing topic cannot be used')
      return
    }
    const stores = (this.replicaStores = new ReplicaStores(
      this.instanceName,
      advertisedUrl,
      this.taskManager,
      () => this.replicaState?.standbyStores,
    ))
    this.queries = new QueryService(new StoreCatalog(this.compiled, partitionsOf), stores, this.routing.table, {
      token: httpToken,
    })
    this.routing.start()
    this.routing.advertise(stores.advert())
  }

  /** Once only: a fault and a signal may both ask for it. */
  private async closeClients(): Promise<void> {
    if (this.clientsClosed) return
    this.clientsClosed = true
    await this.ingest?.stop()
    await this.ingest?.close()
    await this.purge?.stop()
    await this.routing?.close()
    await this.recordsAdmin?.close()
    await this.consumer?.close()
    await this.collector?.close()
    this.admin?.close()
    await this.replicaState?.close()
  }
}
