import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, inject, it } from 'vitest'
import { ClusterEventGenerator, type GeneratedEnvelope } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import { createTopic, readTopics } from '../../simulators/kafka-topics.js'
import { type EngineProcess, startEngine, waitFor } from '../support/engine-process.js'
import { countDifferences, expectedWarningCounts, lastCounts } from '../support/warning-counts.js'

const brokers = inject('kafkaBrokers')
const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'kubestream-standby-')))
const engines: EngineProcess[] = []
afterAll(() => {
  for (const engine of engines) if (engine.child.exitCode === null) engine.child.kill('SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/**
 * Two replicas of warning-counts with standbyReplicas: 1. Each keeps a warm copy of the other's
 * stores; when one dies for good, the survivor takes its tasks over restoring only the tail its
 * copy had not seen — not the whole changelog — and the counts stay exact.
 */
it("takes over a dead replica's tasks from its warm standby copies, with exact counts", async () => {
  const run = Date.now().toString(36)
  const source = `sb-src-${run}`
  const output = `sb-out-${run}`
  await createTopic(brokers, source, 6)
  const start = (i: number) => {
    const engine = startEngine('examples/warning-counts.yaml', {
      KAFKA_BROKERS: brokers,
      APPLICATION_ID: `sb-${run}`,
      SOURCE_TOPIC: source,
      OUTPUT_TOPIC: output,
      GUARANTEE: 'exactly_once',
      WINDOW_GRACE: '1d',
      COMMIT_INTERVAL_MS: '300',
      SESSION_TIMEOUT_MS: '6000',
      STANDBY_REPLICAS: '1',
      KUBESTREAM_STATE_DIR: dirs[i],
      KUBESTREAM_INSTANCE_ID: `sb-${i}`,
    })
    engines.push(engine)
    return engine
  }
  const [first, second] = [start(0), start(1)]
  await waitFor(
    'both replicas assigned',
    () => [first, second].every((e) => /partitions assigned/.test(e.output())),
    120_000,
    100,
  )

  const writer = await EnvelopeWriter.connect(brokers, source)
  const generator = new ClusterEventGenerator({ seed: 11 })
  const written: GeneratedEnvelope[] = []
  const write = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const envelope = generator.next()
      written.push(envelope)
      await writer.write(envelope)
    }
    await writer.flush()
  }
  await write(30_000)
  const expectedSoFar = expectedWarningCounts(written)
  await waitFor(
    'the first results',
    async () =>
      countDifferences(expectedSoFar, lastCounts(await readTopics(brokers, [output], { readCommitted: true })))
        .length === 0,
    120_000,
    1_000,
  )
  // Let the standby copies catch up with the changelogs, then lose, for good, a replica that
  // runs stateful tasks (the group decides which replica runs which).
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  const [victim, survivor] = storeTasksOf(first).size > 0 ? [first, second] : [second, first]
  expect(storeTasksOf(victim).size).toBeGreaterThan(0)
  const beforeKill = survivor.output().length
  victim.child.kill('SIGKILL')
  await victim.exited
  await write(10_000)
  await writer.close()

  const expected = expectedWarningCounts(written)
  let actual = new Map<string, number>()
  await waitFor(
    'the survivor to finish',
    async () => {
      actual = lastCounts(await readTopics(brokers, [output], { readCommitted: true }))
      return countDifferences(expected, actual).length === 0
    },
    120_000,
    2_000,
  ).catch(() => undefined)
  expect(countDifferences(expected, actual)).toEqual([])

  const takeover = survivor
    .output()
    .slice(beforeKill)
    .split('\n')
    .filter((line) => line.includes('"msg":"state restored"') || line.includes('nothing to restore'))
    .map((line) => JSON.parse(line) as { stores: Array<{ from: number; to: number; records: number }> })
  const stores = takeover.flatMap((entry) => entry.stores)
  const replayed = stores.reduce((sum, s) => sum + s.records, 0)
  const changelog = stores.reduce((sum, s) => sum + s.to, 0)
  console.log(
    `[standby] the survivor took over ${stores.length} store partitions: replayed ${replayed} of ${changelog} ` +
      `changelog records`,
  )
  expect(stores.length).toBeGreaterThan(0)
  expect(stores.every((s) => s.from > 0)).toBe(true)
  expect(replayed).toBeLessThan(changelog / 4)
  survivor.child.kill('SIGTERM')
  expect((await survivor.exited).code).toBe(0)
}, 300_000)

/** The repartition partitions (the counting tasks) a replica runs now, from its assignment logs. */
function storeTasksOf(engine: EngineProcess): Set<string> {
  const owned = new Set<string>()
  for (const line of engine.output().split('\n')) {
    if (!line.includes('"msg":"partitions assigned"') && !line.includes('"msg":"partitions revoked"')) continue
    const { msg, partitions } = JSON.parse(line) as { msg: string; partitions: string[] }
    for (const partition of partitions.filter((p) => p.includes('-repartition-'))) {
      if (msg === 'partitions assigned') owned.add(partition)
      else owned.delete(partition)
    }
  }
  return owned
}
