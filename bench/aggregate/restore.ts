/**
 * Restore contender: a count topology whose changelog holds BENCH_KEYS distinct keys (written
 * by the harness). Starts on an empty state dir and times the full restore (start → ready);
 * stops, starts again on the intact dir and times that start → ready. Prints one RESULT line
 * with both, and this process's peak RSS with the whole store restored.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { KubeStream } from '../../runtime/kube-stream.js'
import { loadTopology } from '../../topology/load.js'
import { reportResult } from '../fanout/report.js'

const brokers = process.env.KAFKA_BROKERS!
const applicationId = process.env.BENCH_GROUP_ID!
const keys = Number(process.env.BENCH_KEYS)
const graph = loadTopology(`
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: ${applicationId} }
spec:
  kafka: { bootstrapServers: "${brokers}" }
  sources: [{ name: in, kafka: { topic: ${process.env.BENCH_SOURCE_TOPIC} } }]
  steps: [{ name: per-key, from: in, count: { store: counts } }]
  sinks: [{ name: out, from: per-key, kafka: { topic: ${applicationId}-out, partitions: 6 } }]
`, 'restore-bench.yaml', {})
const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-restore-bench-'))

async function timeToReady(): Promise<{ ms: number; restored: number }> {
  const stream = new KubeStream(graph, { logger: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }), stateDir })
  const started = performance.now()
  await stream.start()
  while (!stream.ready) await new Promise((resolve) => setTimeout(resolve, 2))
  const ms = performance.now() - started
  const restored = stream.counters.restoredRecords
  await stream.stop()
  return { ms, restored }
}

/** Where the memory is: anonymous (heap, librdkafka buffers) or file-backed (LMDB's map). */
function memory(): Record<string, number> {
  const status = readFileSync('/proc/self/status', 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024
  return { rssMb: kb('VmRSS'), anonMb: kb('RssAnon'), fileMb: kb('RssFile'), heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20 }
}

// The largest footprint while restoring, by kind: anonymous memory is the process's own; the
// file-backed part is LMDB's memory map, page cache the kernel can reclaim.
const peak = { rssMb: 0, anonMb: 0, fileMb: 0, heapTotalMb: 0 }
const sampler = setInterval(() => {
  const now = memory()
  if (now.rssMb > peak.rssMb) Object.assign(peak, { rssMb: now.rssMb, anonMb: now.anonMb, fileMb: now.fileMb, heapTotalMb: process.memoryUsage().heapTotal / 2 ** 20 })
}, 50)
const full = await timeToReady()
clearInterval(sampler)
const intact = await timeToReady()
rmSync(stateDir, { recursive: true, force: true })
console.log(`DETAIL ${JSON.stringify({ keys, fullRestoreMs: full.ms, fullRestoreRecords: full.restored, intactReadyMs: intact.ms, intactRestoredRecords: intact.restored, peakDuringRestore: peak })}`)
reportResult({ name: `kubestream restore of ${keys.toLocaleString('en')} keys`, records: full.restored, bytes: 0, elapsedMs: full.ms })
process.exit(0)
