/**
 * `npm run bench:memory` (as root): kubestream inside a real memory cgroup with a limit, as a
 * Kubernetes pod runs it — the compiled CLI, `bin/kubestream.js run` (build first: `npm run
 * build`) — on its own local broker (Kafka 4.1.1). Three phases, each its own process in its own
 * cgroup, watched from outside through /readyz and /metrics:
 *   (a) events-fanout over BENCH_RECORDS (500,000) envelopes at full speed, limit
 *       BENCH_FANOUT_LIMIT_MB (256);
 *   (b) the full restore of a BENCH_KEYS (1,000,000)-key count store, limit BENCH_STATE_LIMIT_MB (384);
 *   (c) counting one record for each of those keys on the restored state dir, same limit.
 * For each: OOM kills, the peak anonymous and file-backed memory the cgroup charged (sampled
 * every 50 ms), and the rate (the fan-out and the counting from ready to the last record
 * consumed; the restore from spawn to ready). Targets: no OOM kill; peak anonymous ≤ 200 MB.
 * Results go to bench/results/memory-*.{json,md}.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import { countTopology, createCountTopics } from '../aggregate/count-topology.js'
import { saveResults } from '../harness.js'
import { preloadChangelog, preloadEnvelopes, preloadKeyedInput } from '../preload.js'
import { MemoryCgroup, type MemorySample } from './cgroup.js'
import { startCli } from './cli-process.js'

const RECORDS = Number(process.env.BENCH_RECORDS ?? 500_000)
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000)
const FANOUT_LIMIT_MB = Number(process.env.BENCH_FANOUT_LIMIT_MB ?? 256)
const STATE_LIMIT_MB = Number(process.env.BENCH_STATE_LIMIT_MB ?? 384)
const ANON_TARGET_MB = 200
const PARTITIONS = 6
const MB = 2 ** 20
const run = Date.now().toString(36)
const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}.yaml`, import.meta.url))
const CONSUMED = 'kubestream_records_consumed_total'
const PHASE_TIMEOUT_MS = 900_000

interface PhaseResult {
  phase: string
  limitMb: number
  oomKills: number
  peakAnonMb: number
  peakFileMb: number
  recordsPerSecond?: number
  /** Why the contender did not finish, when it did not. */
  failure?: string
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:memory creates memory cgroups: run it as root')
  let broker: LocalBroker | undefined
  if (!process.env.KAFKA_BROKERS) broker = await startLocalBroker({ heap: '1g' })
  const brokers = process.env.KAFKA_BROKERS ?? broker!.brokers
  const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-memory-bench-'))
  try {
    const events = `bench-mem-events-${run}`
    const app = `bench-mem-${run}`
    const admin = new TopicAdmin({ 'bootstrap.servers': brokers })
    await admin.ensureTopic(events, { partitions: PARTITIONS, replicationFactor: 1 })
    const countTopics = await createCountTopics(admin, app, PARTITIONS)
    admin.close()
    await preloadEnvelopes(brokers, events, RECORDS)
    await preloadChangelog(brokers, countTopics.changelog, KEYS, PARTITIONS)
    const countFile = join(stateDir, 'count.yaml')
    writeFileSync(countFile, countTopology({ applicationId: app, brokers, sourceTopic: countTopics.input }))
    const fanoutEnv = {
      KAFKA_BROKERS: brokers,
      APPLICATION_ID: `bench-mem-fanout-${run}`,
      SOURCE_TOPIC: events,
      TOPIC_PREFIX: `bench-mem-${run}.events.`,
    }
    const countEnv = { KUBESTREAM_STATE_DIR: join(stateDir, 'state') }

    const results: PhaseResult[] = []
    results.push(
      await inCgroup('a', 'events-fanout', FANOUT_LIMIT_MB, async (launcher) => {
        const cli = await startCli(example('events-fanout'), fanoutEnv, launcher)
        const doneMs = await cli.counterReaches(CONSUMED, RECORDS, PHASE_TIMEOUT_MS)
        await cli.stop()
        return (RECORDS * 1000) / (doneMs - cli.readyMs)
      }),
    )
    results.push(
      await inCgroup('b', 'full restore', STATE_LIMIT_MB, async (launcher) => {
        const cli = await startCli(countFile, countEnv, launcher, PHASE_TIMEOUT_MS)
        await cli.stop()
        return (KEYS * 1000) / cli.readyMs
      }),
    )
    // Written only now: the restore phase would otherwise consume (and commit) some of it.
    await preloadKeyedInput(brokers, countTopics.input, KEYS, PARTITIONS)
    results.push(
      await inCgroup('c', 'counting one record per key', STATE_LIMIT_MB, async (launcher) => {
        const cli = await startCli(countFile, countEnv, launcher, PHASE_TIMEOUT_MS)
        const doneMs = await cli.counterReaches(CONSUMED, KEYS, PHASE_TIMEOUT_MS)
        await cli.stop()
        return (KEYS * 1000) / (doneMs - cli.readyMs)
      }),
    )
    write(results)
  } finally {
    rmSync(stateDir, { recursive: true, force: true })
    await broker?.stop()
  }
}

/** Runs a phase in a fresh cgroup limited to `limitMb`, sampling what the cgroup charges; `measure` gives the rate. */
async function inCgroup(
  id: string,
  phase: string,
  limitMb: number,
  measure: (launcher: string[]) => Promise<number>,
): Promise<PhaseResult> {
  console.log(`running (${id}) ${phase} in a ${limitMb} MiB cgroup…`)
  const group = MemoryCgroup.create(`kubestream-bench-${run}-${id}`, limitMb * MB)
  const peak: MemorySample = { anon: 0, file: 0 }
  const sampler = setInterval(() => {
    const now = group.sample()
    peak.anon = Math.max(peak.anon, now.anon)
    peak.file = Math.max(peak.file, now.file)
  }, 50)
  let rate: number | undefined
  let failure: string | undefined
  try {
    rate = await measure(group.launcher())
  } catch (error) {
    failure = (error as Error).message.split('\n')[0]
  } finally {
    clearInterval(sampler)
  }
  const outcome: PhaseResult = {
    phase,
    limitMb,
    oomKills: group.oomKills(),
    peakAnonMb: peak.anon / MB,
    peakFileMb: peak.file / MB,
    ...(rate === undefined ? {} : { recordsPerSecond: rate }),
    ...(failure ? { failure } : {}),
  }
  group.remove()
  console.log(`  ${describe(outcome)}`)
  return outcome
}

function rateOf(r: PhaseResult): string {
  return r.recordsPerSecond === undefined
    ? `failed: ${r.failure}`
    : `${Math.round(r.recordsPerSecond).toLocaleString('en')} records/s`
}

function describe(r: PhaseResult): string {
  return (
    `${rateOf(r)}; ${r.oomKills} OOM kills; peak ${r.peakAnonMb.toFixed(0)} MB anonymous, ` +
    `${r.peakFileMb.toFixed(0)} MB file-backed (limit ${r.limitMb} MiB)`
  )
}

function write(results: PhaseResult[]): void {
  const summary = {
    date: new Date().toISOString(),
    records: RECORDS,
    keys: KEYS,
    results,
    targets: { oomKills: 0, peakAnonMb: ANON_TARGET_MB },
  }
  const markdown = [
    `# memory benchmark — ${summary.date}`,
    '',
    `Each phase the compiled CLI in its own process inside a memory cgroup with a limit (as a pod's); ` +
      `${RECORDS.toLocaleString('en')} ` +
      `envelopes for the fan-out, ${KEYS.toLocaleString('en')} keys for the state phases. Anonymous memory is what ` +
      'a limit cannot reclaim; file-backed (page cache, LMDB’s map, loaded code) it reclaims.',
    '',
    '| phase | limit MiB | OOM kills | peak anonymous MB | peak file-backed MB | records/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.phase} | ${r.limitMb} | ${r.oomKills} | ${r.peakAnonMb.toFixed(0)} | ${r.peakFileMb.toFixed(0)} | ` +
        `${rateOf(r)} |`,
    ),
    '',
    `Targets: 0 OOM kills; peak anonymous ≤ ${ANON_TARGET_MB} MB in each phase.`,
    '',
  ].join('\n')
  saveResults('memory', summary, markdown)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
