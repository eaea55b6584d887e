import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { afterAll, describe, expect, inject, it } from 'vitest'
import type { TopicPartitionOffset } from '../../core/record-consumer.js'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import type { CommitReason } from '../../runtime/commit.js'
import { KubeStream, type KubeStreamOptions } from '../../runtime/kube-stream.js'
import { ClusterEventGenerator, type GeneratedEnvelope } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import { createTopic, readTopics } from '../../simulators/kafka-topics.js'
import { loadTopologyFile } from '../../topology/load.js'
import { waitFor, within } from '../support/engine-process.js'
import {
  allCommitted,
  countDifferences,
  expectedWarningCounts,
  lastCounts,
  warningCountsEnv,
  writeEnvelopes,
} from '../support/warning-counts.js'

const brokers = inject('kafkaBrokers')
const PARTITIONS = 6
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Log lines of one replica, parsed. */
function logLines(lines: string[]): Array<Record<string, unknown>> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
}

/**
 * examples/warning-counts.yaml under exactly-once, on its own topics, with replicas run in
 * this process (each its own state dir, instance id and log) so a test can hold one inside
 * its commit.
 */
function warningCounts(name: string, kafka: string, timeouts: { maxPollMs?: number; transactionMs?: number } = {}) {
  // The broker's minimum session: a replica held inside its commit leaves the group within seconds.
  const env = warningCountsEnv(kafka, `eos-${name}`, { SESSION_TIMEOUT_MS: '6000' })
  const replica = (instanceId: string, options: Partial<KubeStreamOptions> = {}) => {
    const graph = loadTopologyFile('examples/warning-counts.yaml', env)
    graph.kafka.consumer = { ...graph.kafka.consumer, 'max.poll.interval.ms': timeouts.maxPollMs ?? 6_000 }
    // Longer than any hold a test makes, unless the test is about the transaction timing out.
    graph.kafka.producer = { ...graph.kafka.producer, 'transaction.timeout.ms': timeouts.transactionMs ?? 60_000 }
    const stateDir = mkdtempSync(join(tmpdir(), `kubestream-eos-${instanceId}-`))
    dirs.push(stateDir)
    const logs: string[] = []
    const stream = new KubeStream(graph, {
      stateDir,
      instanceId,
      logger: pino({ name: instanceId }, { write: (line: string) => void logs.push(line) }),
      ...options,
    })
    return { stream, logs }
  }
  return { env, replica }
}

describe('exactly-once through faults on a real broker', () => {
  it('survives a rebalance that happens while a replica commits, and counts exactly', async () => {
    const { env, replica } = warningCounts('rebalance', brokers)
    await createTopic(brokers, env.SOURCE_TOPIC, PARTITIONS)
    const written = await writeEnvelopes(brokers, env.SOURCE_TOPIC, 20_000)

    // A holds its first commit with offsets between the flush and the offsets until the group has
    // given B partitions: the group moved on while A committed.
    let held: Promise<void> | undefined
    let release = () => {}
    const hold = (offsets: readonly TopicPartitionOffset[]): Promise<void> => {
      if (held || offsets.length === 0) return Promise.resolve()
      return (held = new Promise<void>((resolve) => (release = resolve)))
    }
    const a = replica('a', { commitHooks: { afterFlush: hold } })
    await a.stream.start()
    await waitFor('A holding a commit', () => held !== undefined, 60_000)
    const b = replica('b')
    await b.stream.start()
    const assignedToB = () =>
      logLines(b.logs).some((line) => line.msg === 'partitions assigned' && (line.partitions as string[]).length > 0)
    await waitFor('the group giving B partitions', assignedToB, 60_000)
    release()

    // Without recovery, A stopped here: `cannot send offsets to the transaction: … (Broker: Unknown member)`.
    const migration = () => logLines(a.logs).find((line) => String(line.msg).startsWith('tasks migrated'))
    await waitFor('A recovering', () => migration() !== undefined, 30_000)
    expect((migration()!.err as { code?: string }).code).toBe('TRANSACTION_ABORTABLE')
    expect(logLines(a.logs).filter((line) => line.level === 50)).toEqual([])
    await waitFor('both replicas working', () => a.stream.ready && b.stream.ready, 60_000)
    await waitFor('everything committed', () => allCommitted(brokers, env), 120_000, 500)
    await Promise.all([a.stream.stop(), b.stream.stop()])
    expect(a.stream.state).toBe('NOT_RUNNING')
    expect(b.stream.state).toBe('NOT_RUNNING')

    const expected = expectedWarningCounts(written)
    const actual = lastCounts(await readTopics(brokers, [env.OUTPUT_TOPIC], { readCommitted: true }))
    expect(countDifferences(expected, actual)).toEqual([])
  }, 240_000)

  it('survives a commit held past transaction.timeout.ms: the producer is replaced, counts exact', async () => {
    const { env, replica } = warningCounts('txn-timeout', brokers, { maxPollMs: 120_000, transactionMs: 5_000 })
    await createTopic(brokers, env.SOURCE_TOPIC, PARTITIONS)
    const written = await writeEnvelopes(brokers, env.SOURCE_TOPIC, 10_000)
    // The broker looks for timed-out transactions every 10 s (its default): hold past timeout + that.
    let held = false
    const hold = async (offsets: readonly TopicPartitionOffset[]) => {
      if (held || offsets.length === 0) return
      held = true
      await sleep(17_000)
    }
    const a = replica('a', { commitHooks: { afterFlush: hold } })
    await a.stream.start()
    const migration = () => logLines(a.logs).find((line) => String(line.msg).startsWith('tasks migrated'))
    await waitFor('A recovering', () => migration() !== undefined, 60_000)
    expect((migration()!.err as { code?: string }).code).toBe('TRANSACTION_TIMED_OUT')
    await waitFor('everything committed', () => allCommitted(brokers, env), 120_000, 500)
    await a.stream.stop()
    expect(a.stream.state).toBe('NOT_RUNNING')
    const actual = lastCounts(await readTopics(brokers, [env.OUTPUT_TOPIC], { readCommitted: true }))
    expect(countDifferences(expectedWarningCounts(written), actual)).toEqual([])
  }, 240_000)

  it('counts exactly through a broker restart in the middle of a windowed count', async () => {
    await withOwnBroker(async (broker, replicas) => {
      const kafka = broker.brokers
      const { env, replica } = warningCounts('restart', kafka)
      await createTopic(kafka, env.SOURCE_TOPIC, PARTITIONS)
      replicas.push(replica('a'), replica('b'))
      for (const { stream } of replicas) await within('a replica starting', 60_000, stream.start())
      // Events keep coming before, during and after the restart.
      const writing = writeEnvelopesPaced(kafka, env.SOURCE_TOPIC, 24_000, 12_000)
      await waitFor('counting under way', () => consumed(replicas, env.SOURCE_TOPIC) > 2_000, 60_000)
      await within('the broker restarting', 60_000, broker.restart())
      const written = await within('the writer finishing', 60_000, writing)
      await expectExactCounts(kafka, env, replicas, written)
    })
  }, 360_000)

  it('reads every partition again after a broker restart while a replica hands partitions over', async () => {
    // With cooperative rebalancing this lost the repartition topic: the partitions A gave up were
    // withheld until A rejoined, the restart ended every session, and A's rejoin as a static
    // member's replacement did not rebalance the group, so they stayed with nobody.
    await withOwnBroker(async (broker, replicas) => {
      const kafka = broker.brokers
      const { env, replica } = warningCounts('handover-restart', kafka)
      await createTopic(kafka, env.SOURCE_TOPIC, PARTITIONS)
      const before = await writeEnvelopes(kafka, env.SOURCE_TOPIC, 10_000)
      let holding = false
      let release = () => {}
      const held = new Promise<void>((resolve) => (release = resolve))
      const hold = async (_offsets: readonly TopicPartitionOffset[], reason: CommitReason) => {
        if (reason !== 'hand-over' || holding) return
        holding = true
        await held
      }
      const a = replica('a', { commitHooks: { afterFlush: hold } })
      replicas.push(a)
      await within('A starting', 60_000, a.stream.start())
      await waitFor('A counting', () => consumed([a], env.SOURCE_TOPIC) > 1_000, 60_000)
      const b = replica('b')
      replicas.push(b)
      await within('B starting', 60_000, b.stream.start())
      await waitFor('A holding its hand-over to B', () => holding, 60_000)
      // Down for longer than the session timeout (6 s): every member's session ends.
      await within('the broker restarting', 90_000, broker.restart(10_000))
      release()
      const after = await writeEnvelopes(kafka, env.SOURCE_TOPIC, 5_000, { seed: 43 })
      await expectExactCounts(kafka, env, replicas, [...before, ...after])
    })
  }, 360_000)
})

type Replica = ReturnType<ReturnType<typeof warningCounts>['replica']>

/**
 * Runs `test` against a broker of its own (which it may restart) with the replicas it starts;
 * on failure, prints what each replica said last: where a hang or a miss came from.
 */
async function withOwnBroker(test: (broker: LocalBroker, replicas: Replica[]) => Promise<void>): Promise<void> {
  const broker = await startLocalBroker()
  const replicas: Replica[] = []
  try {
    await test(broker, replicas)
  } catch (error) {
    for (const [i, { logs }] of replicas.entries()) console.log(`replica ${i}:\n${logs.slice(-40).join('')}`)
    throw error
  } finally {
    await broker.stop()
  }
}

function consumed(replicas: Replica[], topic: string): number {
  return replicas.reduce((sum, { stream }) => sum + (stream.counters.consumedByTopic.get(topic) ?? 0), 0)
}

/** Every input committed, every replica still running and then stopped cleanly, and every count exact. */
async function expectExactCounts(
  kafka: string,
  env: ReturnType<typeof warningCountsEnv>,
  replicas: Replica[],
  written: GeneratedEnvelope[],
): Promise<void> {
  await waitFor('everything committed', () => allCommitted(kafka, env), 180_000, 500)
  for (const { stream } of replicas) expect(stream.state).toBe('RUNNING')
  await within('the replicas stopping', 45_000, Promise.all(replicas.map(({ stream }) => stream.stop())))
  for (const { stream } of replicas) expect(stream.state).toBe('NOT_RUNNING')
  const output = await within(
    'reading the output',
    30_000,
    readTopics(kafka, [env.OUTPUT_TOPIC], { readCommitted: true }),
  )
  expect(countDifferences(expectedWarningCounts(written), lastCounts(output))).toEqual([])
}

/** Writes `count` generated envelopes spread over about `durationMs`. */
async function writeEnvelopesPaced(
  kafka: string,
  topic: string,
  count: number,
  durationMs: number,
): Promise<GeneratedEnvelope[]> {
  const writer = await EnvelopeWriter.connect(kafka, topic)
  const generator = new ClusterEventGenerator({ seed: 7 })
  const written: GeneratedEnvelope[] = []
  const started = Date.now()
  try {
    while (written.length < count) {
      const envelope = generator.next()
      written.push(envelope)
      await writer.write(envelope)
      const due = started + (durationMs * written.length) / count
      if (written.length % 200 === 0 && due > Date.now()) await sleep(due - Date.now())
    }
    await writer.flush()
  } finally {
    await writer.close()
  }
  return written
}
