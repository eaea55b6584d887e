/**
 * Contender: kubestream running examples/warning-counts.yaml (filter, keyBy through a
 * repartition topic, 1-minute tumbling count in LMDB with a changelog) under the guarantee in
 * BENCH_GUARANTEE. Timed from the first record consumed until every input record and every
 * repartitioned record is processed and stop() has committed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { KubeStream } from '../../runtime/kube-stream.js'
import { loadTopologyFile } from '../../topology/load.js'
import { benchEnv, reportResult } from '../fanout/report.js'

const env = benchEnv()
const guarantee = process.env.BENCH_GUARANTEE ?? 'at_least_once'
const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-bench-'))
const file = fileURLToPath(new URL('../../examples/warning-counts.yaml', import.meta.url))
const graph = loadTopologyFile(file, {
  ...process.env,
  APPLICATION_ID: env.groupId,
  SOURCE_TOPIC: env.sourceTopic,
  OUTPUT_TOPIC: `${env.outputPrefix}counts`,
  GUARANTEE: guarantee,
  // A pre-loaded backlog is read partition by partition: grace covers the whole run's event time.
  WINDOW_GRACE: '30d',
})
const stream = new KubeStream(graph, { logger: pino({ level: 'warn' }), stateDir })
await stream.start()
while (!stream.ready) await new Promise((resolve) => setTimeout(resolve, 5))
// In the group with its tasks: the latency phase starts writing now.
console.log('READY')

const repartition = `${env.groupId}-per-minute-repartition`
const { consumedByTopic, producedByTopic } = stream.counters
const consumed = () => consumedByTopic.get(env.sourceTopic) ?? 0
const drained = () =>
  consumed() >= env.records && (consumedByTopic.get(repartition) ?? 0) >= (producedByTopic.get(repartition) ?? 0)
let started = 0
const deadline = Date.now() + env.maxSeconds * 1000
while (!drained() && Date.now() < deadline) {
  if (started === 0 && consumed() > 0) started = performance.now()
  await new Promise((resolve) => setTimeout(resolve, 5))
}
await stream.stop()
const elapsedMs = performance.now() - started
rmSync(stateDir, { recursive: true, force: true })
const records = consumed()
reportResult({
  name: `kubestream warning-counts.yaml, ${guarantee}`,
  records,
  bytes: Number(process.env.BENCH_SOURCE_BYTES ?? 0) * (records / env.records),
  elapsedMs,
  partial: records < env.records,
})
process.exit(0)
