import { Counter, Gauge, type Registry } from 'prom-client'
import type { WindowedStats } from '../core/windowed-stats.js'
import type { StorePartition } from '../state/store-partition.js'
import type { MetricsRecordingLevel } from '../topology/spec.js'
import type { StreamTask } from './stream-task.js'
import type { ThreadMeters } from './thread-meters.js'

/** What the Kafka Streams-named metrics read: the thread's meters, the tasks, the sinks' latencies. */
export interface KafkaStreamsMeters {
  /** Kafka Streams' thread-id tag: `<client id>-StreamThread-1`. */
  readonly threadId: string
  readonly thread: ThreadMeters
  readonly tasks: () => readonly StreamTask[]
  /** Per sink: the age of records when they leave. */
  readonly e2eLatency: ReadonlyMap<string, WindowedStats>
  /** Kafka Streams' metrics.recording.level: what is exposed at DEBUG is left out at INFO. */
  readonly level: MetricsRecordingLevel
}

/**
 * Kafka Streams' metrics as Prometheus series: JMX group and name become
 * `kafka_streams_<group without -metrics>_<name>` with dashes as underscores (the JMX
 * exporter's usual rules), and the tags thread-id, task-id, store and processor-node-id become
 * labels. Rates and averages cover Kafka Streams' window (two 30 s samples); latencies are in
 * milliseconds, as Kafka Streams reports them. `application_id` is the registry's default label.
 * Each is exposed at Kafka Streams' recording level for it: the tasks' process totals and the
 * state stores' metrics only at DEBUG and above.
 */
export function registerKafkaStreamsMetrics(registry: Registry, meters: KafkaStreamsMeters): void {
  const thread = { thread_id: meters.threadId }
  const options = (name: string, help: string, labelNames: string[]) => ({
    name,
    help,
    labelNames: ['thread_id', ...labelNames],
    registers: [registry],
  })
  const gauge = (name: string, help: string, labelNames: string[], collect: (set: Setter) => void) =>
    new Gauge({
      ...options(name, help, labelNames),
      collect() {
        this.reset()
        collect((labels, value) => this.set({ ...thread, ...labels }, finite(value)))
      },
    })
  const counter = (name: string, help: string, labelNames: string[], collect: (set: Setter) => void) =>
    new Counter({
      ...options(name, help, labelNames),
      collect() {
        this.reset()
        collect((labels, value) => this.inc({ ...thread, ...labels }, value))
      },
    })
  const t = meters.thread
  const threadMetric = 'kafka_streams_stream_thread_'
  counter(`${threadMetric}process_total`, 'Records processed', [], (set) => set({}, t.processTotal))
  gauge(`${threadMetric}process_rate`, 'Records processed per second', [], (set) => set({}, t.process.rate()))
  counter(`${threadMetric}poll_total`, 'Polls of the consumer', [], (set) => set({}, t.pollTotal))
  gauge(`${threadMetric}poll_rate`, 'Polls per second', [], (set) => set({}, t.poll.rate('count')))
  gauge(`${threadMetric}poll_records_avg`, 'Records per poll, average', [], (set) => set({}, t.poll.stats().avg))
  gauge(`${threadMetric}poll_records_max`, 'Records per poll, maximum', [], (set) => set({}, t.poll.stats().max))
  counter(`${threadMetric}commit_total`, 'Commits', [], (set) => set({}, t.commitTotal))
  gauge(`${threadMetric}commit_rate`, 'Commits per second', [], (set) => set({}, t.commit.rate('count')))
  gauge(`${threadMetric}commit_latency_avg`, 'Milliseconds per commit, average', [], (set) =>
    set({}, t.commit.stats().avg),
  )
  gauge(`${threadMetric}commit_latency_max`, 'Milliseconds per commit, maximum', [], (set) =>
    set({}, t.commit.stats().max),
  )

  counter(
    'kafka_streams_stream_task_dropped_records_total',
    "Records the task dropped: later than their window's grace",
    ['task_id'],
    (set) => {
      for (const task of meters.tasks()) set({ task_id: task.id }, task.windowCounters.lateRecords)
    },
  )

  for (const [stat, word] of [
    ['avg', 'average'],
    ['min', 'minimum'],
    ['max', 'maximum'],
  ] as const)
    gauge(
      `kafka_streams_processor_node_record_e2e_latency_${stat}`,
      `Milliseconds from a record's timestamp to its leaving by this sink, ${word}`,
      ['processor_node_id'],
      (set) => {
        for (const [sink, latency] of meters.e2eLatency) set({ processor_node_id: sink }, latency.stats()[stat])
      },
    )

  // Kafka Streams records the rest at DEBUG only.
  if (meters.level === 'INFO') return

  counter('kafka_streams_stream_task_process_total', 'Records processed by the task', ['task_id'], (set) => {
    for (const task of meters.tasks()) set({ task_id: task.id }, task.processedRecords)
  })
  const stores = (each: (labels: Labels, store: StorePartition) => void) => {
    for (const task of meters.tasks())
      for (const store of task.stores?.partitions ?? []) each({ task_id: task.id, store: store.storeName }, store)
  }
  const rates = new ScrapeRates()
  for (const [call, help] of [
    ['put', 'Writes (and deletes) to the store'],
    ['get', 'Reads of the store'],
    ['restore', 'Changelog records restored into the store'],
  ] as const) {
    counter(`kafka_streams_stream_state_${call}_total`, help, ['task_id', 'store'], (set) =>
      stores((labels, store) => set(labels, store.calls[call])),
    )
    gauge(`kafka_streams_stream_state_${call}_rate`, `${help}, per second`, ['task_id', 'store'], (set) =>
      stores((labels, store) =>
        set(labels, rates.rate(`${call}\0${labels.task_id}\0${labels.store}`, store.calls[call])),
      ),
    )
  }
}

type Labels = Record<string, string>
type Setter = (labels: Labels, value: number) => void

/** A metric with no sample in its window reads 0, as a Prometheus gauge must be a number. */
function finite(value: number): number {
  return Number.isFinite(value) ? value : 0
}

/** Per-second rates of totals, between one scrape and the one before it. */
class ScrapeRates {
  private readonly last = new Map<string, { at: number; total: number }>()

  rate(series: string, total: number, now = Date.now()): number {
    const before = this.last.get(series)
    this.last.set(series, { at: now, total })
    if (!before || now <= before.at || total < before.total) return 0
    return ((total - before.total) * 1000) / (now - before.at)
  }
}
