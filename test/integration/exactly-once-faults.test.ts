import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, describe, expect, inject, it } from 'vitest'
import type { TopicPartitionOffset } from '../../core/record-consumer.js'
import { KubeStream, type KubeStreamOptions } from '../../runtime/kube-stream.js'
import { loadTopologyFile } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import { committedOffsets, createTopic, endOffsets, readTopics } from '../support/kafka.js'
import { countDifferences, expectedWarningCounts, lastCounts, writeEnvelopes } from '../support/warning-counts.js'

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
function warningCounts(name: string, kafka: string) {
  const run = `${name}-${Date.now().toString(36)}`
  const env = {
    KAFKA_BROKERS: kafka,
    APPLICATION_ID: `eos-${run}`,
    SOURCE_TOPIC: `eos-src-${run}`,
    OUTPUT_TOPIC: `eos-out-${run}`,
    GUARANTEE: 'exactly_once',
    WINDOW_GRACE: '1d',
    COMMIT_INTERVAL_MS: '200',
    // The broker's minimum: a replica held inside its commit leaves the group within seconds.
    SESSION_TIMEOUT_MS: '6000',
  }
  const replica = (instanceId: string, options: Partial<KubeStreamOptions> = {}) => {
    const graph = loadTopologyFile('examples/warning-counts.yaml', env)
    graph.kafka.consumer = { ...graph.kafka.consumer, 'max.poll.interval.ms': 6_000 }
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

/**
 * The group has committed every input and every repartition record: under exactly-once the
 * last offset of a repartition partition is its last transaction's marker, never consumed.
 */
async function allCommitted(applicationId: string, source: string, kafka = brokers): Promise<boolean> {
  const repartition = `${applicationId}-per-minute-repartition`
  for (const [topic, markers] of [
    [source, 0],
    [repartition, 1],
  ] as const) {
    const [ends, committed] = await Promise.all([
      endOffsets(kafka, topic),
      committedOffsets(kafka, applicationId, topic),
    ])
    for (const [partition, end] of ends) if (end > 0 && (committed.get(partition) ?? 0) < end - markers) return false
  }
  return true
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
    const migration = () => logLines(a.logs).find((line) => String(line.msg).startsWith('the group moved on'))
    await waitFor('A rejoining', () => migration() !== undefined, 30_000)
    expect((migration()!.err as { code?: string }).code).toBe('TRANSACTION_ABORTABLE')
    await waitFor('both replicas working', () => a.stream.ready && b.stream.ready, 60_000)
    await waitFor('everything committed', () => allCommitted(env.APPLICATION_ID, env.SOURCE_TOPIC), 120_000, 500)
    await Promise.all([a.stream.stop(), b.stream.stop()])
    expect(a.stream.state).toBe('NOT_RUNNING')
    expect(b.stream.state).toBe('NOT_RUNNING')

    const expected = expectedWarningCounts(written)
    const actual = lastCounts(await readTopics(brokers, [env.OUTPUT_TOPIC], { readCommitted: true }))
    expect(countDifferences(expected, actual)).toEqual([])
  }, 240_000)
})
