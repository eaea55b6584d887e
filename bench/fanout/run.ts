/**
 * `npm run bench:fanout`: pre-loads BENCH_RECORDS (default 500,000) synthetic EventRouter
 * envelopes into a 6-partition topic, then drains them with each contender in turn, each in its
 * own process, on the same broker: (a) node-rdkafka pass-through, (b) naive kafkajs, (c)
 * kubestream. Prints a table and the ratios c/a and c/b; writes bench/results/fanout-*.{json,md}.
 */
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import { KAFKAJS_COMPATIBLE_VERSION } from '../../deploy/local/kafka-version.js'
import { DEFAULT_NAMESPACES } from '../../simulators/cluster-events.js'
import { format, runContender, saveResults } from '../harness.js'
import { preloadEnvelopes } from '../preload.js'
import { type ContenderResult, megabytesPerSecond, recordsPerSecond } from './report.js'

const RECORDS = Number(process.env.BENCH_RECORDS ?? 500_000)
const PARTITIONS = 6
const run = Date.now().toString(36)
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

async function main(): Promise<void> {
  let broker: LocalBroker | undefined
  // The kafkajs baseline cannot speak Kafka 4.x, so this benchmark runs its own 3.9 broker.
  if (!process.env.KAFKA_BROKERS) broker = await startLocalBroker({ heap: '1g', version: KAFKAJS_COMPATIBLE_VERSION })
  const brokers = process.env.KAFKA_BROKERS ?? broker!.brokers
  try {
    const sourceTopic = `bench-cluster-events-${run}`
    const admin = new TopicAdmin({ 'bootstrap.servers': brokers })
    await admin.ensureTopic(sourceTopic, { partitions: PARTITIONS, replicationFactor: 1 })
    // (a) and (b) write to topics created up front; kubestream creates its own, as in production.
    await admin.ensureTopic(`bench-a-${run}.passthrough`, { partitions: 3, replicationFactor: 1 })
    for (const ns of DEFAULT_NAMESPACES)
      await admin.ensureTopic(`bench-b-${run}.events.${ns}`, { partitions: 3, replicationFactor: 1 })
    admin.close()

    const bytes = await preload(brokers, sourceTopic)
    const contenders: Array<[string, string]> = [
      ['a', 'rdkafka-passthrough.ts'],
      ['b', 'kafkajs-naive.ts'],
      ['c', 'kubestream-fanout.ts'],
    ]
    const results: Record<string, ContenderResult> = {}
    for (const [id, file] of contenders) {
      console.log(`running (${id}) ${file}…`)
      results[id] = await runContender(here(file), {
        KAFKA_BROKERS: brokers,
        BENCH_SOURCE_TOPIC: sourceTopic,
        BENCH_SOURCE_BYTES: String(bytes),
        BENCH_RECORDS: String(RECORDS),
        BENCH_OUTPUT_PREFIX: `bench-${id}-${run}.events.`.replace(`bench-a-${run}.events.`, `bench-a-${run}.`),
        BENCH_GROUP_ID: `bench-${id}-${run}`,
        BENCH_MAX_SECONDS: id === 'b' ? (process.env.BENCH_KAFKAJS_MAX_SECONDS ?? '180') : '900',
      })
      console.log(`  ${format(results[id])}`)
    }
    write(results, bytes)
  } finally {
    await broker?.stop()
  }
}

async function preload(brokers: string, topic: string): Promise<number> {
  const started = performance.now()
  const bytes = await preloadEnvelopes(brokers, topic, RECORDS)
  const seconds = (performance.now() - started) / 1000
  console.log(
    `pre-loaded ${RECORDS} envelopes (${(bytes / 1024 / 1024).toFixed(0)} MiB, mean ` +
      `${(bytes / RECORDS).toFixed(0)} B) in ${seconds.toFixed(1)} s`,
  )
  return bytes
}

function write(results: Record<string, ContenderResult>, bytes: number): void {
  const ratio = (x: ContenderResult, y: ContenderResult) => recordsPerSecond(x) / recordsPerSecond(y)
  const ca = ratio(results.c, results.a)
  const cb = ratio(results.c, results.b)
  const summary = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    records: RECORDS,
    partitions: PARTITIONS,
    inputMiB: bytes / 1024 / 1024,
    results: Object.fromEntries(
      Object.entries(results).map(([id, r]) => [
        id,
        { ...r, recordsPerSecond: recordsPerSecond(r), mbPerSecond: megabytesPerSecond(r) },
      ]),
    ),
    ratios: { 'c/a': ca, 'c/b': cb },
    targets: { 'c/a': 0.8, 'c/b': 3 },
  }
  const rows = Object.entries(results).map(
    ([id, r]) =>
      `| (${id}) ${r.name} | ${Math.round(recordsPerSecond(r)).toLocaleString('en')} | ` +
      `${megabytesPerSecond(r).toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${r.peakRssMb.toFixed(0)} ` +
      `|${r.partial ? ' capped' : ''}`,
  )
  const markdown = [
    `# events-fanout benchmark — ${summary.date}`,
    '',
    `${RECORDS.toLocaleString('en')} envelopes (${summary.inputMiB.toFixed(0)} MiB) on a ${PARTITIONS}-partition ` +
      `topic; ${summary.machine.cpus} cores, Node ${process.version}; one local KRaft broker shared by all three.`,
    '',
    '| contender | records/s | MB/s | CPU s | peak RSS MB |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `c/a = **${ca.toFixed(2)}** (target ≥ 0.8), c/b = **${cb.toFixed(2)}** (target ≥ 3)`,
    '',
  ].join('\n')
  saveResults('fanout', summary, markdown)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
