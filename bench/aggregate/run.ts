/**
 * `npm run bench:aggregate`: the stateful path, on its own local broker (Kafka 4.1.1).
 *
 * 1. Pre-loads BENCH_RECORDS (default 500,000) synthetic EventRouter envelopes into a
 *    6-partition topic, then runs examples/warning-counts.yaml (filter, keyBy through a
 *    repartition topic, one-minute tumbling count in LMDB with a changelog) over them twice,
 *    each in its own process: (a) at-least-once, (b) exactly-once. Target: b/a ≥ 0.7.
 *    Then, for each guarantee, end-to-end latency at half of that maximum rate: envelopes written
 *    live for BENCH_LATENCY_SECONDS (default 60), p50/p99 from an input's append to the append of
 *    the output that counts it (the first 3 s, the process's warm-up, not measured; the p99 of
 *    each 10 s shown too). Targets: p99 ≤ 250 ms at-least-once, ≤ commit interval + 250 ms
 *    exactly-once.
 * 2. Writes BENCH_KEYS (default 1,000,000) distinct keys to a count store's changelog and times
 *    (c) the full restore of a fresh replica, then (d) its restart on the intact state dir, each
 *    in its own process, and (f) the compiled CLI spawned on that dir, timed to /readyz 200.
 *    Targets: intact restart ready in < 2 s, process start included; peak RSS ≤ 250 MB at 1M keys.
 *
 * Results go to bench/results/aggregate-*.{json,md}.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import { type ContenderResult, recordsPerSecond } from '../fanout/report.js'
import { format, runContender, saveResults } from '../harness.js'
import { preloadChangelog, preloadEnvelopes, preloadKeyedInput } from '../preload.js'
import { countTopology, createCountTopics } from './count-topology.js'
import {
  createAppendTimeTopics,
  type LatencySummary,
  measureLatency,
  outputSpan,
  WINDOW_MS,
  writePaced,
} from './latency.js'
import { spawnToReady } from './spawn-ready.js'

const RECORDS = Number(process.env.BENCH_RECORDS ?? 500_000)
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000)
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 60)
const PARTITIONS = 6
/** examples/warning-counts.yaml's commitIntervalMs. */
const COMMIT_INTERVAL_MS = 1000
const run = Date.now().toString(36)
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

async function main(): Promise<void> {
  let broker: LocalBroker | undefined
  if (!process.env.KAFKA_BROKERS) broker = await startLocalBroker({ heap: '1g' })
  const brokers = process.env.KAFKA_BROKERS ?? broker!.brokers
  try {
    const admin = new TopicAdmin({ 'bootstrap.servers': brokers })
    const sourceTopic = `bench-agg-events-${run}`
    await admin.ensureTopic(sourceTopic, { partitions: PARTITIONS, replicationFactor: 1 })
    const restoreApp = `bench-restore-${run}`
    const countTopics = await createCountTopics(admin, restoreApp, PARTITIONS)
    admin.close()

    const bytes = await preloadEnvelopes(brokers, sourceTopic, RECORDS)
    const results: Record<string, ContenderResult> = {}
    const spans: Record<string, OutputSpan> = {}
    for (const [id, guarantee] of [
      ['a', 'at_least_once'],
      ['b', 'exactly_once'],
    ] as const) {
      console.log(`running (${id}) windowed count, ${guarantee}…`)
      const prefix = `bench-agg-${id}-${run}-`
      await createAppendTimeTopics(brokers, [`${prefix}counts`], PARTITIONS)
      let readyAt = 0
      results[id] = await runContender(
        here('windowed-count.ts'),
        {
          KAFKA_BROKERS: brokers,
          BENCH_SOURCE_TOPIC: sourceTopic,
          BENCH_SOURCE_BYTES: String(bytes),
          BENCH_RECORDS: String(RECORDS),
          BENCH_OUTPUT_PREFIX: prefix,
          BENCH_GROUP_ID: `bench-agg-${id}-${run}`,
          BENCH_GUARANTEE: guarantee,
          BENCH_MAX_SECONDS: '900',
        },
        (text) => {
          if (text.includes('READY')) readyAt ||= Date.now()
        },
      )
      spans[id] = await outputSpan(brokers, `${prefix}counts`, readyAt)
      console.log(`  ${format(results[id])}; outputs appended ${describeSpan(spans[id])}`)
    }
    const latencies: Record<string, LatencyRun> = {}
    for (const id of ['a', 'b'] as const) latencies[id] = await runLatency(brokers, id, results[id])

    await preloadChangelog(brokers, countTopics.changelog, KEYS, PARTITIONS)
    const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-restore-bench-'))
    const details: Partial<Record<'full' | 'intact' | 'process', RestoreDetail>> = {}
    let spawnReadyMs = NaN
    try {
      for (const [id, phase] of [
        ['c', 'full'],
        ['d', 'intact'],
        ['e', 'process'],
      ] as const) {
        if (phase === 'process') await preloadKeyedInput(brokers, countTopics.input, KEYS, PARTITIONS)
        console.log(`running (${id}) ${phase} phase with ${KEYS.toLocaleString('en')} keys…`)
        results[id] = await runContender(
          here('restore.ts'),
          {
            KAFKA_BROKERS: brokers,
            BENCH_SOURCE_TOPIC: countTopics.input,
            BENCH_GROUP_ID: restoreApp,
            BENCH_KEYS: String(KEYS),
            BENCH_PHASE: phase,
            BENCH_STATE_DIR: stateDir,
            BENCH_LOG_LEVEL: 'info',
            // librdkafka queue sizes to try for the stateful path, as YAML flow maps, e.g. '{
            // queued.max.messages.kbytes: 32768 }'.
            ...(process.env.BENCH_CONSUMER_CONFIG ? { BENCH_CONSUMER_CONFIG: process.env.BENCH_CONSUMER_CONFIG } : {}),
            ...(process.env.BENCH_PRODUCER_CONFIG ? { BENCH_PRODUCER_CONFIG: process.env.BENCH_PRODUCER_CONFIG } : {}),
          },
          (text) => {
            const line = text.split('\n').find((l) => l.startsWith('DETAIL '))
            if (line) details[phase] = JSON.parse(line.slice('DETAIL '.length)) as RestoreDetail
          },
        )
        console.log(`  ${format(results[id])}`)
        if (phase === 'intact') {
          console.log(`running (f) the compiled CLI, spawn → /readyz on the intact state dir…`)
          const file = join(stateDir, 'count.yaml')
          writeFileSync(file, countTopology({ applicationId: restoreApp, brokers, sourceTopic: countTopics.input }))
          spawnReadyMs = await spawnToReady(file, stateDir)
          console.log(`  ready in ${Math.round(spawnReadyMs)} ms`)
        }
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
    write(results, spans, latencies, bytes, details.full!, details.intact!, details.process!, spawnReadyMs)
  } finally {
    await broker?.stop()
  }
}

type OutputSpan = Awaited<ReturnType<typeof outputSpan>>

function describeSpan({ firstMs, lastMs }: OutputSpan): string {
  return `from ${(firstMs / 1000).toFixed(1)} s to ${(lastMs / 1000).toFixed(1)} s after ready`
}

interface LatencyRun extends LatencySummary {
  guarantee: string
  rate: number
}

/** Contender `id`'s topology again, fed live at half the rate it reached on the backlog. */
async function runLatency(brokers: string, id: 'a' | 'b', maximum: ContenderResult): Promise<LatencyRun> {
  const guarantee = id === 'a' ? 'at_least_once' : 'exactly_once'
  const rate = Math.round(recordsPerSecond(maximum) / 2)
  const records = rate * LATENCY_SECONDS
  const prefix = `bench-lat-${id}-${run}-`
  const [source, output] = [`${prefix}events`, `${prefix}counts`]
  await createAppendTimeTopics(brokers, [source, output], PARTITIONS)
  console.log(
    `running (${id}) latency at ${rate.toLocaleString('en')} records/s for ${LATENCY_SECONDS} s, ${guarantee}…`,
  )
  let writing: Promise<void> | undefined
  await runContender(
    here('windowed-count.ts'),
    {
      KAFKA_BROKERS: brokers,
      BENCH_SOURCE_TOPIC: source,
      BENCH_RECORDS: String(records),
      BENCH_OUTPUT_PREFIX: prefix,
      BENCH_GROUP_ID: `bench-lat-${id}-${run}`,
      BENCH_GUARANTEE: guarantee,
      BENCH_MAX_SECONDS: String(LATENCY_SECONDS * 10),
    },
    (text) => {
      if (text.includes('READY')) writing ??= writePaced(brokers, source, rate, records)
    },
  )
  await writing
  const summary = { guarantee, rate, ...(await measureLatency(brokers, source, output)) }
  console.log(
    `  p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms over ${summary.samples} counts; ` +
      `p99 per ${WINDOW_MS / 1000} s: ${summary.p99ByWindowMs.join(', ')} ms`,
  )
  return summary
}

interface RestoreDetail {
  readyMs: number
  restored: number
  peak: { rssMb: number; anonMb: number; fileMb: number; heapTotalMb: number }
}

function describePeak(detail: RestoreDetail): string {
  const { anonMb, heapTotalMb, fileMb } = detail.peak
  return (
    `at the sampled peak ${Math.round(anonMb)} MB anonymous, V8 heap ${Math.round(heapTotalMb)} MB of it, ` +
    `and ${Math.round(fileMb)} MB file-backed: LMDB's map and the loaded code`
  )
}

function write(
  results: Record<string, ContenderResult>,
  spans: Record<string, OutputSpan>,
  latencies: Record<string, LatencyRun>,
  bytes: number,
  full: RestoreDetail,
  intact: RestoreDetail,
  processing: RestoreDetail,
  spawnReadyMs: number,
): void {
  const ba = recordsPerSecond(results.b) / recordsPerSecond(results.a)
  const restoreRate = full.restored / (full.readyMs / 1000)
  const summary = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    records: RECORDS,
    keys: KEYS,
    inputMiB: bytes / 1024 / 1024,
    results: Object.fromEntries(
      Object.entries(results).map(([id, r]) => [id, { ...r, recordsPerSecond: recordsPerSecond(r) }]),
    ),
    outputSpans: spans,
    latencies,
    restore: { full, intact, processing, recordsPerSecond: restoreRate, spawnReadyMs },
    ratios: { 'b/a': ba },
    targets: {
      'b/a': 0.7,
      intactReadyMs: 2000,
      peakRssMbAtKeys: 250,
      p99Ms: { a: 250, b: COMMIT_INTERVAL_MS + 250 },
    },
  }
  const markdown = [
    `# aggregate benchmark — ${summary.date}`,
    '',
    `${RECORDS.toLocaleString('en')} envelopes (${summary.inputMiB.toFixed(0)} MiB) on a ${PARTITIONS}-partition ` +
      `topic through examples/warning-counts.yaml; ${summary.machine.cpus} cores, Node ${process.version}; one ` +
      `local KRaft broker.`,
    '',
    '| contender | records/s | CPU s | peak RSS MB |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(results).map(
      ([id, r]) =>
        `| (${id}) ${r.name} | ${Math.round(recordsPerSecond(r)).toLocaleString('en')} | ` +
        `${r.cpuSeconds.toFixed(1)} | ${r.peakRssMb.toFixed(0)} |`,
    ),
    '',
    `- exactly-once / at-least-once = **${ba.toFixed(2)}** (target ≥ 0.7)`,
    ...Object.entries(spans).map(
      ([id, span]) => `- (${id}) on the backlog, outputs appended ${describeSpan(span)} (${results[id].name})`,
    ),
    ...Object.entries(latencies).map(
      ([id, l]) =>
        `- (${id}) end-to-end latency at ${l.rate.toLocaleString('en')} records/s (half its maximum), input ` +
        `append → output append: p50 **${l.p50Ms} ms**, p99 **${l.p99Ms} ms** (target ≤ ` +
        `${summary.targets.p99Ms[id as 'a' | 'b']}), max ${l.maxMs} ms, over ${l.samples.toLocaleString('en')} ` +
        `counted records after a 3 s warm-up${l.uncovered > 0 ? `; **${l.uncovered} never counted**` : ''}; ` +
        `p99 of each ${WINDOW_MS / 1000} s: ${l.p99ByWindowMs.join(', ')} ms`,
    ),
    `- full restore of ${full.restored.toLocaleString('en')} changelog records: ` +
      `${(full.readyMs / 1000).toFixed(1)} s, **${Math.round(restoreRate).toLocaleString('en')} records/s**`,
    `- restart with the state dir intact: ready in **${Math.round(intact.readyMs)} ms** (target < 2,000), ` +
      `${intact.restored} records replayed; (f) spawning the compiled CLI on it → /readyz 200 in ` +
      `**${Math.round(spawnReadyMs)} ms** (target < 2,000, process start included)`,
    `- peak RSS (target ≤ 250 MB at ${KEYS.toLocaleString('en')} keys): restoring them ` +
      `**${results.c.peakRssMb.toFixed(0)} MB** (${describePeak(full)}); restarted, holding them ` +
      `**${results.d.peakRssMb.toFixed(0)} MB** (${describePeak(intact)}); counting one record per key ` +
      `**${results.e.peakRssMb.toFixed(0)} MB** (${describePeak(processing)})`,
    '',
  ].join('\n')
  saveResults('aggregate', summary, markdown)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
