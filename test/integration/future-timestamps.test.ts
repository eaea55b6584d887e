import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, expect, inject, it } from 'vitest'
import { DLQ_HEADERS } from '../../runtime/dead-letter.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { ClusterEventGenerator, type GeneratedEnvelope } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import { createTopic, readTopics } from '../../simulators/kafka-topics.js'
import { loadTopologyFile } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import {
  allCommitted,
  countDifferences,
  expectedWarningCounts,
  lastCounts,
  warningCountsEnv,
} from '../support/warning-counts.js'

const brokers = inject('kafkaBrokers')
const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-future-'))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))
const HOUR = 3_600_000

/** A Warning whose event time is `aheadMs` past the wall clock (a node's clock far ahead). */
function stampedAhead(envelope: GeneratedEnvelope, aheadMs: number): GeneratedEnvelope {
  const document = JSON.parse(envelope.value.toString()) as { event: Record<string, unknown> }
  const future = new Date(Date.now() + aheadMs).toISOString()
  Object.assign(document.event, { type: 'Warning', lastTimestamp: future, firstTimestamp: future })
  return { ...envelope, value: Buffer.from(JSON.stringify(document)) }
}

it('dead-letters a record stamped hours ahead, which brokers refuse, and counts the rest exactly', async () => {
  const env = warningCountsEnv(brokers, 'future')
  await createTopic(brokers, env.SOURCE_TOPIC, 3)
  const generator = new ClusterEventGenerator({ seed: 31 })
  const written: GeneratedEnvelope[] = []
  const ahead: GeneratedEnvelope[] = []
  const writer = await EnvelopeWriter.connect(brokers, env.SOURCE_TOPIC)
  try {
    for (let i = 0; i < 1_500; i++) {
      let envelope = generator.next()
      // Every 300th: 3 hours ahead, past Kafka's default 1 h; the one after it: 30 min ahead, within it.
      const wellFormed = envelope.kind !== 'malformed'
      if (wellFormed && i % 300 === 299) {
        envelope = stampedAhead(envelope, 3 * HOUR)
        ahead.push(envelope)
      } else {
        if (wellFormed && i % 300 === 0 && i > 0) envelope = stampedAhead(envelope, HOUR / 2)
        written.push(envelope)
      }
      await writer.write(envelope)
    }
    await writer.flush()
  } finally {
    await writer.close()
  }
  const stream = new KubeStream(loadTopologyFile('examples/warning-counts.yaml', env), {
    stateDir,
    logger: pino({ level: 'warn' }),
  })
  try {
    await stream.start()
    await waitFor('everything committed', () => allCommitted(brokers, env), 90_000, 500)
    expect(stream.state).toBe('RUNNING')
    const counts = lastCounts(await readTopics(brokers, [env.OUTPUT_TOPIC], { readCommitted: true }))
    expect(countDifferences(expectedWarningCounts(written), counts)).toEqual([])
    const dead = (await readTopics(brokers, [`${env.APPLICATION_ID}-dlq`], { readCommitted: true })).filter(
      (message) => message.headers[DLQ_HEADERS.code] === 'TIMESTAMP',
    )
    expect(dead.map((message) => message.value.toString()).sort()).toEqual(
      ahead.map((envelope) => envelope.value.toString()).sort(),
    )
    for (const message of dead) {
      expect(message.headers[DLQ_HEADERS.message]).toMatch(/min ahead of this replica's clock/)
      expect(message.timestamp).toBeLessThanOrEqual(Date.now())
    }
  } finally {
    await stream.stop()
  }
}, 150_000)
