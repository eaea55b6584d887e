import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, expect, inject, it } from 'vitest'
import { KubeStream } from '../../runtime/kube-stream.js'
import { createTopic } from '../../simulators/kafka-topics.js'
import { loadTopologyFile } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import { warningCountsEnv, writeEnvelopes } from '../support/warning-counts.js'

const brokers = inject('kafkaBrokers')
const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-ks-metrics-'))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))

/** The Kafka Streams-named series the README lists, each with the labels Kafka Streams tags it with. */
const DOCUMENTED: Array<[name: string, labels: string[]]> = [
  ['kafka_streams_stream_thread_process_total', ['thread_id']],
  ['kafka_streams_stream_thread_process_rate', ['thread_id']],
  ['kafka_streams_stream_thread_poll_total', ['thread_id']],
  ['kafka_streams_stream_thread_poll_rate', ['thread_id']],
  ['kafka_streams_stream_thread_poll_records_avg', ['thread_id']],
  ['kafka_streams_stream_thread_poll_records_max', ['thread_id']],
  ['kafka_streams_stream_thread_commit_total', ['thread_id']],
  ['kafka_streams_stream_thread_commit_rate', ['thread_id']],
  ['kafka_streams_stream_thread_commit_latency_avg', ['thread_id']],
  ['kafka_streams_stream_thread_commit_latency_max', ['thread_id']],
  ['kafka_streams_stream_task_process_total', ['thread_id', 'task_id']],
  ['kafka_streams_stream_task_dropped_records_total', ['thread_id', 'task_id']],
  ['kafka_streams_stream_state_put_total', ['thread_id', 'task_id', 'store']],
  ['kafka_streams_stream_state_put_rate', ['thread_id', 'task_id', 'store']],
  ['kafka_streams_stream_state_get_total', ['thread_id', 'task_id', 'store']],
  ['kafka_streams_stream_state_get_rate', ['thread_id', 'task_id', 'store']],
  ['kafka_streams_stream_state_restore_total', ['thread_id', 'task_id', 'store']],
  ['kafka_streams_stream_state_restore_rate', ['thread_id', 'task_id', 'store']],
  ['kafka_streams_processor_node_record_e2e_latency_avg', ['thread_id', 'processor_node_id']],
  ['kafka_streams_processor_node_record_e2e_latency_min', ['thread_id', 'processor_node_id']],
  ['kafka_streams_processor_node_record_e2e_latency_max', ['thread_id', 'processor_node_id']],
]
/** Totals that must grow while records flow (restores happen at start; nothing here is late). */
const MOVING = DOCUMENTED.map(([name]) => name).filter(
  (name) => name.endsWith('_total') && !/restore|dropped/.test(name),
)

/** Prometheus text as series → value, summed over label sets; and every label set seen per name. */
function parse(text: string): { sums: Map<string, number>; labels: Map<string, Set<string>> } {
  const sums = new Map<string, number>()
  const labels = new Map<string, Set<string>>()
  for (const line of text.split('\n')) {
    const found = /^([a-z0-9_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (!found) continue
    const [, name, labelText = '', value] = found
    sums.set(name, (sums.get(name) ?? 0) + Number(value))
    const names = labels.get(name) ?? new Set<string>()
    for (const pair of labelText.split(',').filter(Boolean)) names.add(pair.split('=')[0])
    labels.set(name, names)
  }
  return { sums, labels }
}

it('exposes Kafka Streams-named metrics that move while warning-counts runs', async () => {
  const env = warningCountsEnv(brokers, 'ks-metrics', { GUARANTEE: 'at_least_once' })
  await createTopic(brokers, env.SOURCE_TOPIC, 3)
  const graph = loadTopologyFile('examples/warning-counts.yaml', env)
  // Tasks' and stores' metrics are Kafka Streams' DEBUG level.
  const stream = new KubeStream(
    { ...graph, processing: { ...graph.processing, metricsRecordingLevel: 'DEBUG' } },
    {
      stateDir,
      logger: pino({ level: 'warn' }),
      instanceId: 'pod-0',
    },
  )
  try {
    await writeEnvelopes(brokers, env.SOURCE_TOPIC, 2_000, { seed: 21 })
    await stream.start()
    const scrape = async () => parse(await stream.metrics.metrics())
    await waitFor('records counted', async () => ((await scrape()).sums.get(MOVING[0]) ?? 0) > 0, 60_000, 200)
    const first = await scrape()
    await writeEnvelopes(brokers, env.SOURCE_TOPIC, 2_000, { seed: 22 })
    await waitFor(
      'every total to grow',
      async () => {
        const now = (await scrape()).sums
        return MOVING.every((name) => (now.get(name) ?? 0) > (first.sums.get(name) ?? 0))
      },
      60_000,
      200,
    )
    const { sums, labels } = await scrape()
    for (const [name, expected] of DOCUMENTED) {
      expect(sums.has(name), name).toBe(true)
      expect([...(labels.get(name) ?? [])].sort(), name).toEqual(['application_id', ...expected].sort())
    }
    expect(sums.get('kafka_streams_stream_thread_process_rate')).toBeGreaterThan(0)
    expect(sums.get('kafka_streams_stream_thread_commit_latency_max')).toBeGreaterThan(0)
    expect(sums.get('kafka_streams_processor_node_record_e2e_latency_max')).toBeGreaterThan(0)
    expect(await stream.metrics.metrics()).toContain(`thread_id="pod-0-StreamThread-1"`)
  } finally {
    await stream.stop()
  }
}, 120_000)
