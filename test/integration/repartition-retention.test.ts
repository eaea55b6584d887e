import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { committedOffsets, createTopic, readTopics, startOffsets } from '../../simulators/kafka-topics.js'
import { loadTopologyFile } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import {
  allCommitted,
  countDifferences,
  expectedWarningCounts,
  lastCounts,
  warningCountsEnv,
  writeEnvelopes,
} from '../support/warning-counts.js'

const DAY = 24 * 60 * 60 * 1000
let broker: LocalBroker
let stateDir: string

// A broker that applies its (default, 7-day) retention every second from the start.
beforeAll(async () => {
  broker = await startLocalBroker({
    properties: { 'log.retention.check.interval.ms': '1000', 'log.initial.task.delay.ms': '0' },
  })
  stateDir = mkdtempSync(join(tmpdir(), 'kubestream-retention-'))
})
afterAll(async () => {
  await broker?.stop()
  rmSync(stateDir, { recursive: true, force: true })
})

describe('repartition topics and event time', () => {
  it('counts events 30 days old exactly, then purges what the group committed', async () => {
    const kafka = broker.brokers
    // 5 s: the commit interval that lost every count before repartition topics kept records until purged.
    const env = warningCountsEnv(kafka, 'old', { COMMIT_INTERVAL_MS: '5000' })
    await createTopic(kafka, env.SOURCE_TOPIC, 6)
    // Outputs carry their window's event time too: a user replaying old events keeps them as long.
    await createTopic(kafka, env.OUTPUT_TOPIC, 6, { 'retention.ms': '-1' })
    const written = await writeEnvelopes(kafka, env.SOURCE_TOPIC, 20_000, { seed: 3, startTime: Date.now() - 30 * DAY })
    const graph = loadTopologyFile('examples/warning-counts.yaml', env)
    graph.processing.repartitionPurgeIntervalMs = 1_000
    const stream = new KubeStream(graph, { stateDir, logger: pino({ level: 'warn' }) })
    await stream.start()
    await waitFor('everything committed', () => allCommitted(kafka, env), 120_000, 500)

    const expected = expectedWarningCounts(written)
    expect(expected.size).toBeGreaterThan(100)
    const actual = lastCounts(await readTopics(kafka, [env.OUTPUT_TOPIC], { readCommitted: true }))
    expect(countDifferences(expected, actual)).toEqual([])

    const repartition = `${env.APPLICATION_ID}-per-minute-repartition`
    const unpurged = async () => {
      const [starts, committed] = await Promise.all([
        startOffsets(kafka, repartition),
        committedOffsets(kafka, env.APPLICATION_ID, repartition),
      ])
      return [...committed].filter(([partition, offset]) => starts.get(partition) !== offset)
    }
    await waitFor('the committed repartition records purged', async () => (await unpurged()).length === 0, 30_000, 500)
    await stream.stop()
  }, 240_000)
})
