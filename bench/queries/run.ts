/**
 * `npm run bench:queries`: interactive queries at BENCH_KEYS (default 1,000,000) keys, on its
 * own local broker (or KAFKA_BROKERS).
 *
 * A count store's changelog is pre-loaded with the keys (each in the partition kubestream's
 * producer would give it); two replicas of the count topology — the compiled CLI, each in its
 * own process and state dir — restore half of it each and advertise their partitions. Then,
 * from this process, over HTTP with keep-alive:
 * (l) local lookups: each key asked of the replica that owns it, one at a time: p50/p99;
 * (f) forwarded lookups: each key asked of the other replica, which forwards it: p50/p99;
 * (t) throughput: BENCH_QUERY_CONCURRENCY (default 32) lookups in flight for
 *     BENCH_QUERY_SECONDS (default 10), random keys through either replica: lookups/s.
 * Every answer is checked against the value pre-loaded for its key.
 *
 * Results go to bench/results/queries-*.{json,md}.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { partitionForKey } from '../../connectors/kafka/key-partition.js'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import { freePort } from '../../deploy/local/local-process.js'
import { mulberry32 } from '../../simulators/cluster-events.js'
import { countTopology, createCountTopics } from '../aggregate/count-topology.js'
import { saveResults } from '../harness.js'
import { preloadChangelog, storeKey, storeValue } from '../preload.js'

const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000)
const LOOKUPS = Number(process.env.BENCH_QUERY_LOOKUPS ?? 20_000)
const CONCURRENCY = Number(process.env.BENCH_QUERY_CONCURRENCY ?? 32)
const SECONDS = Number(process.env.BENCH_QUERY_SECONDS ?? 10)
const PARTITIONS = 6
const CLI = fileURLToPath(new URL('../../bin/kubestream.js', import.meta.url))
const run = Date.now().toString(36)

interface Replica {
  url: string
  child: ChildProcess
  exited: Promise<unknown>
  partitions: Set<number>
}

async function main(): Promise<void> {
  let broker: LocalBroker | undefined
  if (!process.env.KAFKA_BROKERS) broker = await startLocalBroker({ heap: '1g' })
  const brokers = process.env.KAFKA_BROKERS ?? broker!.brokers
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-bench-queries-'))
  const replicas: Replica[] = []
  try {
    const applicationId = `bench-queries-${run}`
    const admin = new TopicAdmin({ 'bootstrap.servers': brokers })
    const topics = await createCountTopics(admin, applicationId, PARTITIONS)
    admin.close()
    await preloadChangelog(brokers, topics.changelog, KEYS, PARTITIONS)
    const topologyFile = join(dir, 'count.yaml')
    writeFileSync(topologyFile, countTopology({ applicationId, brokers, sourceTopic: topics.input }))

    const started = performance.now()
    for (let i = 0; i < 2; i++) replicas.push(await startReplica(topologyFile, join(dir, `replica-${i}`), i))
    await routed(replicas)
    const readyMs = performance.now() - started
    console.log(`two replicas restored ${KEYS} keys and routed in ${(readyMs / 1000).toFixed(1)} s`)

    const random = mulberry32(7)
    const keyAt = () => Math.floor(random() * KEYS)
    const ownerOf = (i: number) => replicas.find((r) => r.partitions.has(partitionForKey(storeKey(i), PARTITIONS)))!
    const otherThan = (replica: Replica) => replicas.find((r) => r !== replica)!
    const local = await timeLookups(LOOKUPS, () => {
      const i = keyAt()
      return [ownerOf(i).url, i]
    })
    const forwarded = await timeLookups(LOOKUPS, () => {
      const i = keyAt()
      return [otherThan(ownerOf(i)).url, i]
    })
    const throughput = await measureThroughput(() => {
      const i = keyAt()
      return [replicas[Math.floor(random() * replicas.length)].url, i]
    })

    const summary = {
      date: new Date().toISOString(),
      machine: `${cpus().length} cores`,
      keys: KEYS,
      partitions: PARTITIONS,
      readyMs: Math.round(readyMs),
      local,
      forwarded,
      throughput,
    }
    saveResults('queries', summary, report(summary))
  } finally {
    for (const replica of replicas) replica.child.kill('SIGTERM')
    await Promise.all(replicas.map((replica) => replica.exited))
    rmSync(dir, { recursive: true, force: true })
    await broker?.stop()
  }
}

async function startReplica(topologyFile: string, stateDir: string, i: number): Promise<Replica> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(
    process.execPath,
    [CLI, 'run', topologyFile, '--http-port', String(port), '--http-host', '127.0.0.1', '--advertised-url', url],
    {
      env: {
        ...process.env,
        KUBESTREAM_STATE_DIR: stateDir,
        KUBESTREAM_INSTANCE_ID: `replica-${i}`,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return { url, child, exited, partitions: new Set() }
}

/** Waits until both replicas are ready and each one's routing table places every partition. */
async function routed(replicas: Replica[]): Promise<void> {
  const deadline = Date.now() + 600_000
  for (;;) {
    if (Date.now() > deadline) throw new Error('replicas not ready and routed after 10 minutes')
    const ready = await Promise.all(
      replicas.map((r) =>
        fetch(`${r.url}/readyz`).then(
          (response) => response.status === 200,
          () => false,
        ),
      ),
    )
    if (ready.every(Boolean)) {
      const views = await Promise.all(replicas.map((r) => fetch(`${r.url}/stores`).then((x) => x.json())))
      const placed = views.map((view) => placement(view as StoresView))
      if (placed.every((p) => p.size === PARTITIONS && [...p].every(([q, url]) => placed[0].get(q) === url))) {
        for (const [partition, url] of placed[0]) replicas.find((r) => r.url === url)!.partitions.add(partition)
        if (replicas.every((r) => r.partitions.size > 0)) return
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

interface StoresView {
  replicas: Array<{ url: string; active: Record<string, number[]> }>
}

function placement(view: StoresView): Map<number, string> {
  const owners = new Map<number, string>()
  for (const { url, active } of view.replicas) for (const partition of active.counts ?? []) owners.set(partition, url)
  return owners
}

async function lookup(url: string, i: number): Promise<void> {
  const response = await fetch(`${url}/stores/counts/value?key=${encodeURIComponent(storeKey(i))}`)
  const body = (await response.json()) as { value?: unknown; error?: string }
  if (response.status !== 200 || body.value !== storeValue(i))
    throw new Error(`key ${storeKey(i)}: ${response.status} ${JSON.stringify(body)}, expected ${storeValue(i)}`)
}

/** `count` lookups one after another (after 500 to warm up): latency percentiles in ms. */
async function timeLookups(count: number, next: () => [string, number]) {
  for (let n = 0; n < 500; n++) await lookup(...next())
  const latencies: number[] = []
  const started = performance.now()
  for (let n = 0; n < count; n++) {
    const [url, i] = next()
    const t = performance.now()
    await lookup(url, i)
    latencies.push(performance.now() - t)
  }
  const elapsed = performance.now() - started
  latencies.sort((a, b) => a - b)
  const at = (q: number) =>
    Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2))
  return {
    lookups: count,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: at(1),
    sequentialPerSecond: Math.round(count / (elapsed / 1000)),
  }
}

/** CONCURRENCY workers for SECONDS: lookups per second, all answers checked. */
async function measureThroughput(next: () => [string, number]) {
  const deadline = performance.now() + SECONDS * 1000
  let done = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await lookup(...next())
        done++
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  return {
    concurrency: CONCURRENCY,
    seconds: Number(elapsed.toFixed(1)),
    lookups: done,
    perSecond: Math.round(done / elapsed),
  }
}

function report(summary: {
  date: string
  machine: string
  keys: number
  readyMs: number
  local: Awaited<ReturnType<typeof timeLookups>>
  forwarded: Awaited<ReturnType<typeof timeLookups>>
  throughput: Awaited<ReturnType<typeof measureThroughput>>
}): string {
  const { local, forwarded, throughput } = summary
  return [
    `# Interactive queries — ${summary.date}`,
    '',
    `${summary.keys.toLocaleString('en')} keys in a count store over ${PARTITIONS} partitions, two replicas ` +
      `(compiled CLI, own processes) on ${summary.machine}; restored and routed in ${summary.readyMs} ms. ` +
      'Lookups over HTTP keep-alive from the benchmark process; every answer checked.',
    '',
    '| lookup | p50 ms | p99 ms | max ms | one at a time /s |',
    '| --- | --- | --- | --- | --- |',
    row('(l) local (asked of the owner)', local),
    row('(f) forwarded (asked of the other replica)', forwarded),
    '',
    `(t) ${throughput.concurrency} in flight for ${throughput.seconds} s, random keys through either replica: ` +
      `**${throughput.perSecond.toLocaleString('en')} lookups/s** ` +
      `(${throughput.lookups.toLocaleString('en')} lookups).`,
    '',
  ].join('\n')
}

function row(name: string, r: Awaited<ReturnType<typeof timeLookups>>): string {
  return `| ${name} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.sequentialPerSecond} |`
}

await main()
