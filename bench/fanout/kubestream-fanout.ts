/**
 * Contender (c): kubestream running examples/events-fanout.yaml through the public API, as
 * `kubestream run` would. Timed from the first record consumed to the end of stop(), which
 * flushes the producer and commits — so every output is acknowledged inside the time.
 */
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { KubeStream } from '../../runtime/kube-stream.js'
import { loadTopologyFile } from '../../topology/load.js'
import { benchEnv, reportResult } from './report.js'

const env = benchEnv()
const file = fileURLToPath(new URL('../../examples/events-fanout.yaml', import.meta.url))
const graph = loadTopologyFile(file, {
  ...process.env,
  APPLICATION_ID: env.groupId,
  SOURCE_TOPIC: env.sourceTopic,
  TOPIC_PREFIX: env.outputPrefix,
})
const stream = new KubeStream(graph, { logger: pino({ level: 'warn' }) })
await stream.start()

const consumed = () => {
  let total = 0
  for (const n of stream.counters.consumedByTopic.values()) total += n
  return total
}
let started = 0
const deadline = Date.now() + env.maxSeconds * 1000
while (consumed() < env.records && Date.now() < deadline) {
  if (started === 0 && consumed() > 0) started = performance.now()
  await new Promise((resolve) => setTimeout(resolve, 5))
}
await stream.stop()
const elapsedMs = performance.now() - started
const records = consumed()
reportResult({
  name: 'kubestream events-fanout.yaml',
  records,
  bytes: env.records > 0 ? Number(process.env.BENCH_SOURCE_BYTES ?? 0) * (records / env.records) : 0,
  elapsedMs,
  partial: records < env.records,
})
process.exit(0)
