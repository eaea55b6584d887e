import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { KubeStream } from '../../runtime/kube-stream.js'
import { ClusterEventGenerator, type GeneratedEnvelope } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import { createTopic, deleteTopic, endOffsets, readTopics } from '../../simulators/kafka-topics.js'
import { StateDirectory } from '../../state/state-directory.js'
import { loadTopologyFile } from '../../topology/load.js'
import type { ProcessingGuarantee } from '../../topology/spec.js'
import { waitFor } from '../support/engine-process.js'
import { countDifferences, expectedWarningCounts, lastCounts } from '../support/warning-counts.js'

const brokers = inject('kafkaBrokers')
const STORE = 'by-minute'
const PARTITIONS = 6
const stateDirs: string[] = []
afterAll(() => {
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true })
})

/** One run of examples/warning-counts.yaml in this process, on its own topics. */
async function scenario(guarantee: ProcessingGuarantee, events: number) {
  const run = `${guarantee}-${Date.now().toString(36)}`
  const source = `wc-src-${run}`
  const output = `wc-out-${run}`
  const applicationId = `wc-${run}`
  await createTopic(brokers, source, PARTITIONS)
  const writer = await EnvelopeWriter.connect(brokers, source)
  const generator = new ClusterEventGenerator({ seed: 42 })
  const written: GeneratedEnvelope[] = []
  for (let i = 0; i < events; i++) {
    const envelope = generator.next()
    written.push(envelope)
    await writer.write(envelope)
  }
  await writer.flush()
  await writer.close()
  const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-wc-'))
  stateDirs.push(stateDir)
  // Grace covers how far apart in event time the six input partitions are read.
  const env = {
    KAFKA_BROKERS: brokers,
    APPLICATION_ID: applicationId,
    SOURCE_TOPIC: source,
    OUTPUT_TOPIC: output,
    GUARANTEE: guarantee,
    WINDOW_GRACE: '1d',
    COMMIT_INTERVAL_MS: '200',
  }
  const logs: string[] = []
  const engine = () =>
    new KubeStream(loadTopologyFile('examples/warning-counts.yaml', env), {
      stateDir,
      logger: pino({ name: 'wc' }, { write: (line: string) => void logs.push(line) }),
    })
  const repartition = `${applicationId}-per-minute-repartition`
  /** Every input record read, and every record this process wrote to its repartition topic read back. */
  const drain = async (stream: KubeStream) => {
    const total = [...(await endOffsets(brokers, source)).values()].reduce((a, b) => a + b, 0)
    const { consumedByTopic, producedByTopic } = stream.counters
    const drained = () =>
      (consumedByTopic.get(source) ?? 0) >= total &&
      (consumedByTopic.get(repartition) ?? 0) >= (producedByTopic.get(repartition) ?? 0)
    await waitFor('the input drained', drained, 120_000)
  }
  const snapshot = async () => {
    const state = StateDirectory.open(stateDir, applicationId)
    const bytes = Array.from({ length: PARTITIONS }, (_, p) =>
      state
        .storePartition(STORE, `${applicationId}-${STORE}-changelog`, p)
        .entriesOnDisk()
        .map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`),
    )
    await state.close()
    return bytes
  }
  return { written, output, stateDir, applicationId, logs, engine, drain, snapshot }
}

describe('warning-counts (windowed count over a repartition topic, LMDB + changelog)', () => {
  for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
    it(`counts exactly under ${guarantee}`, async () => {
      const { written, output, engine, drain } = await scenario(guarantee, 12_000)
      const stream = engine()
      await stream.start()
      await drain(stream)
      await stream.stop()
      const expected = expectedWarningCounts(written)
      expect(expected.size).toBeGreaterThan(50)
      const actual = lastCounts(await readTopics(brokers, [output], { readCommitted: true }))
      expect(countDifferences(expected, actual)).toEqual([])
      expect(stream.counters.lateRecords).toBe(0)
      expect(stream.counters.deadLetters.get('cluster-events\u0000DESERIALIZATION')).toBeGreaterThan(0)
    }, 180_000)
  }

  it('rebuilds a deleted state dir byte for byte, and replays nothing when it is intact', async () => {
    const { stateDir, engine, drain, snapshot, logs } = await scenario('exactly_once', 8_000)
    let stream = engine()
    await stream.start()
    await drain(stream)
    await stream.stop()
    const before = await snapshot()
    expect(before.flat().length).toBeGreaterThan(50)

    rmSync(stateDir, { recursive: true, force: true })
    stream = engine()
    await stream.start()
    await waitFor('ready', () => stream.ready && stream.counters.restoredRecords > 0, 60_000)
    await stream.stop()
    expect(await snapshot()).toEqual(before)
    const restored = stream.counters.restoredRecords

    logs.length = 0
    stream = engine()
    const started = Date.now()
    await stream.start()
    await waitFor('ready', () => stream.ready, 60_000)
    const readyMs = Date.now() - started
    await stream.stop()
    expect(stream.counters.restoredRecords).toBe(0)
    const restoreLog = logs
      .map((line) => JSON.parse(line))
      .find((entry) => entry.msg === 'state up to date; nothing to restore')
    expect(restoreLog?.replayed).toBe(0)
    console.log(
      `[restore] full restore replayed ${restored} changelog records; restart with intact state ready in ` +
        `${readyMs} ms, replayed 0`,
    )
  }, 180_000)

  it('wipes a store whose checkpoint its changelog no longer covers (the topic was recreated)', async () => {
    const { engine, drain, snapshot, logs, applicationId } = await scenario('at_least_once', 4_000)
    let stream = engine()
    await stream.start()
    await drain(stream)
    await stream.stop()
    expect((await snapshot()).flat().length).toBeGreaterThan(20)

    const changelog = `${applicationId}-${STORE}-changelog`
    await deleteTopic(brokers, changelog)
    await waitFor(
      'the changelog recreated',
      async () => {
        await createTopic(brokers, changelog, PARTITIONS, { 'cleanup.policy': 'compact' })
        return true
      },
      60_000,
      500,
    )
    logs.length = 0
    stream = engine()
    await stream.start()
    await waitFor('ready', () => stream.ready, 60_000)
    await stream.stop()
    const warnings = logs
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.msg === 'checkpoint outside the changelog; restoring from its start')
    expect(warnings.length).toBeGreaterThan(0)
    // Nothing new came in: every store partition is as its (new, empty) changelog says.
    expect((await snapshot()).flat()).toEqual([])
  }, 180_000)
})
