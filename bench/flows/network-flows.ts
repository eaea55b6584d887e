/**
 * Contender: examples/network-flows.yaml reading the simulated tracer at BENCH_TRACER_SOCKET
 * as fast as it answers, for BENCH_SECONDS. Counts connection records through the whole
 * topology: each one landed, joined, summed per connection, re-keyed and summed per pair
 * (every per-connection update is one record of the per-pair repartition topic).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { KubeStream } from '../../runtime/kube-stream.js'
import { loadTopologyFile } from '../../topology/load.js'
import { reportResult } from '../fanout/report.js'

const app = process.env.BENCH_GROUP_ID!
const seconds = Number(process.env.BENCH_SECONDS ?? 60)
const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-flows-bench-'))
const graph = loadTopologyFile(new URL('../../examples/network-flows.yaml', import.meta.url).pathname, {
  ...process.env,
  APPLICATION_ID: app,
  TRACER_SOCKET: process.env.BENCH_TRACER_SOCKET!,
  TRACER_INTERVAL: '0ms',
  NODE_NAME: 'bench-node',
  CONNECTIONS_TOPIC: `${app}-connections`,
  FLOWS_TOPIC: `${app}-flows`,
  PODS_TOPIC: process.env.BENCH_PODS_TOPIC!,
  SERVICES_TOPIC: process.env.BENCH_SERVICES_TOPIC!,
  GUARANTEE: process.env.BENCH_GUARANTEE ?? 'exactly_once',
})
const stream = new KubeStream(graph, { logger: pino({ level: 'warn' }), stateDir })
await stream.start()

const repartition = `${app}-per-pair-repartition`
const { consumedByTopic, processMs } = stream.counters
const through = () => consumedByTopic.get(repartition) ?? 0
while (through() === 0) await new Promise((resolve) => setTimeout(resolve, 5))
const started = performance.now()
const startRecords = through()
const startMs = new Map(processMs)
await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
const elapsedMs = performance.now() - started
const records = through() - startRecords
const stageMs = Object.fromEntries([...processMs].map(([step, ms]) => [step, ms - (startMs.get(step) ?? 0)]))
const documents =
  (await stream.metrics.getSingleMetric('kubestream_source_documents_total')?.get())?.values[0]?.value ?? 0
await stream.stop()
rmSync(stateDir, { recursive: true, force: true })
console.log(`DETAIL ${JSON.stringify({ stageMs, elapsedMs, documents })}`)
reportResult({ name: `kubestream network-flows.yaml, ${graph.processing.guarantee}`, records, bytes: 0, elapsedMs })
process.exit(0)
