/**
 * Restore contender: a count topology whose changelog holds BENCH_KEYS distinct keys (written
 * by the harness), on the state dir BENCH_STATE_DIR. BENCH_PHASE=full starts on an empty dir and
 * times the full restore (start → ready); BENCH_PHASE=intact starts on the dir a full restore
 * left and times start → ready, then stays up a few seconds holding the store;
 * BENCH_PHASE=process starts on that dir too and counts BENCH_KEYS input records (one per key,
 * written by the harness), so every key is read and written. Each phase is its own process, so
 * its peak RSS is its own.
 */
import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { KubeStream } from '../../runtime/kube-stream.js'
import { loadTopology } from '../../topology/load.js'
import { reportResult } from '../fanout/report.js'
import { countTopology } from './count-topology.js'

const brokers = process.env.KAFKA_BROKERS!
const applicationId = process.env.BENCH_GROUP_ID!
const keys = Number(process.env.BENCH_KEYS)
const phase = (['full', 'intact', 'process'] as const).find((p) => p === process.env.BENCH_PHASE) ?? 'full'
const graph = loadTopology(
  countTopology({
    applicationId,
    brokers,
    sourceTopic: process.env.BENCH_SOURCE_TOPIC!,
    consumer: process.env.BENCH_CONSUMER_CONFIG,
    producer: process.env.BENCH_PRODUCER_CONFIG,
  }),
  'restore-bench.yaml',
  {},
)

/** Where the memory is: anonymous (heap, librdkafka buffers) or file-backed (LMDB's map, loaded code). */
function memory(): { rssMb: number; anonMb: number; fileMb: number; heapTotalMb: number; externalMb: number } {
  const status = readFileSync('/proc/self/status', 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024
  const { heapTotal, external } = process.memoryUsage()
  return {
    rssMb: kb('VmRSS'),
    anonMb: kb('RssAnon'),
    fileMb: kb('RssFile'),
    heapTotalMb: heapTotal / 2 ** 20,
    // Buffers outside the V8 heap (records handed over by node-rdkafka); the rest of the
    // anonymous memory is librdkafka's, LMDB's and the process's own.
    externalMb: external / 2 ** 20,
  }
}

const peak = memory()
const sampler = setInterval(() => {
  const now = memory()
  if (now.rssMb > peak.rssMb) Object.assign(peak, now)
}, 50)
const stream = new KubeStream(graph, {
  logger: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }),
  stateDir: process.env.BENCH_STATE_DIR,
})
const started = performance.now()
await stream.start()
while (!stream.ready) await new Promise((resolve) => setTimeout(resolve, 2))
const readyMs = performance.now() - started
const restored = stream.counters.restoredRecords
if (phase === 'intact') await new Promise((resolve) => setTimeout(resolve, 3_000))
let processedMs = 0
if (phase === 'process') {
  const input = process.env.BENCH_SOURCE_TOPIC!
  while ((stream.counters.consumedByTopic.get(input) ?? 0) < keys)
    await new Promise((resolve) => setTimeout(resolve, 5))
  processedMs = performance.now() - started - readyMs
}
await stream.stop()
clearInterval(sampler)
console.log(`DETAIL ${JSON.stringify({ phase, keys, readyMs, restored, processedMs, peak })}`)
const name = {
  full: `full restore of ${keys.toLocaleString('en')} keys`,
  intact: `restart holding ${keys.toLocaleString('en')} keys`,
  process: `counting ${keys.toLocaleString('en')} records, one per key`,
}[phase]
reportResult({
  name: `kubestream ${name}`,
  records: phase === 'process' ? keys : restored,
  bytes: 0,
  elapsedMs: phase === 'process' ? processedMs : readyMs,
})
process.exit(0)
