import { Counter, Gauge, Registry } from 'prom-client'

/** What the engine counts; plain numbers on the hot path, turned into Prometheus series on scrape. */
export interface EngineCounters {
  readonly consumedByTopic: ReadonlyMap<string, number>
  readonly producedByTopic: ReadonlyMap<string, number>
  /** Keyed `step\0code`. */
  readonly deadLetters: ReadonlyMap<string, number>
  readonly activeTasks: () => number
  readonly restoringTasks: () => number
  readonly restoredRecords: () => number
  readonly standbyRecords: () => number
  readonly globalTableRecords: () => number
  /** Records that arrived after their window closed (Kafka Streams' dropped-records). */
  readonly lateRecords: () => number
  /** Milliseconds of processing per step or source. */
  readonly processMs: ReadonlyMap<string, number>
  /** Records handed to each step and sink. */
  readonly stepRecords: ReadonlyMap<string, number>
  /** Failed reads of non-Kafka sources (a tracer down, slow or answering garbage), keyed `source\0code`. */
  readonly sourceErrors: () => ReadonlyMap<string, number>
  /** Documents read from non-Kafka sources, by source. */
  readonly sourceDocuments: () => ReadonlyMap<string, number>
  /** Per leader-elected source: whether this replica holds its lease. */
  readonly sourceLeaders: () => ReadonlyMap<string, boolean>
}

/**
 * A Prometheus registry over the engine's counters. Names follow Kafka Streams' metrics where
 * one exists (records consumed/produced, dropped records), prefixed `kubestream_`.
 */
export function createMetrics(applicationId: string, counters: EngineCounters): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ application_id: applicationId })
  const fromMap = (name: string, help: string, label: string, source: () => ReadonlyMap<string, number>) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset()
        for (const [value, count] of source()) this.inc({ [label]: value }, count)
      },
    })
  fromMap(
    'kubestream_records_consumed_total',
    'Records read from source topics',
    'topic',
    () => counters.consumedByTopic,
  )
  fromMap(
    'kubestream_records_produced_total',
    'Records handed to the producer, by destination topic',
    'topic',
    () => counters.producedByTopic,
  )
  fromMap(
    'kubestream_step_records_total',
    'Records handed to each step and sink (those of a repartition edge count as produced to its topic)',
    'step',
    () => counters.stepRecords,
  )
  new Counter({
    name: 'kubestream_dead_letter_records_total',
    help: 'Records sent to the dead-letter topic, by step and error code',
    labelNames: ['step', 'code'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [key, count] of counters.deadLetters) {
        const [step, code] = key.split('\u0000')
        this.inc({ step, code }, count)
      }
    },
  })
  new Gauge({
    name: 'kubestream_active_tasks',
    help: 'Tasks this replica runs',
    registers: [registry],
    collect() {
      this.set(counters.activeTasks())
    },
  })
  new Gauge({
    name: 'kubestream_restoring_tasks',
    help: 'Tasks replaying their changelogs; the replica is not ready until none is',
    registers: [registry],
    collect() {
      this.set(counters.restoringTasks())
    },
  })
  new Counter({
    name: 'kubestream_restore_records_total',
    help: 'Changelog records replayed into local stores',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(counters.restoredRecords())
    },
  })
  new Counter({
    name: 'kubestream_standby_records_total',
    help: 'Changelog records applied to warm standby copies of stores',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(counters.standbyRecords())
    },
  })
  new Counter({
    name: 'kubestream_global_table_records_total',
    help: 'Records of global tables applied to their local stores',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(counters.globalTableRecords())
    },
  })
  new Counter({
    name: 'kubestream_dropped_records_total',
    help: 'Records dropped because their window had closed (later than grace)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ reason: 'late' }, counters.lateRecords())
    },
  })
  new Counter({
    name: 'kubestream_step_process_seconds_total',
    help:
      'Time each step spent on its own work (batches timed whole), and each non-Kafka source decoding and ' +
      'landing its documents',
    labelNames: ['step'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [step, ms] of counters.processMs) this.inc({ step }, ms / 1000)
    },
  })
  new Counter({
    name: 'kubestream_source_errors_total',
    help: 'Failed reads of a non-Kafka source (tracer down, slow or answering garbage), retried with backoff',
    labelNames: ['source', 'code'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [key, count] of counters.sourceErrors()) {
        const [source, code] = key.split('\u0000')
        this.inc({ source, code }, count)
      }
    },
  })
  new Counter({
    name: 'kubestream_source_documents_total',
    help: 'Documents read from a non-Kafka source (a tracer /connections answer, a Kubernetes watch change or list)',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [source, count] of counters.sourceDocuments()) this.inc({ source }, count)
    },
  })
  new Gauge({
    name: 'kubestream_source_leader',
    help: '1 where this replica holds the Lease of a leader-elected source (it runs the watch), else 0',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [source, leading] of counters.sourceLeaders()) this.set({ source }, leading ? 1 : 0)
    },
  })
  return registry
}
