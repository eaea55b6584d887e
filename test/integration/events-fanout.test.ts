import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DLQ_HEADERS } from '../../runtime/dead-letter.js'
import { ClusterEventGenerator, type GeneratedEnvelope } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import {
  committedOffsets,
  createTopic,
  endOffsets,
  listTopics,
  readTopics,
  type ReadMessage,
} from '../../simulators/kafka-topics.js'
import { startEngine, waitFor, type EngineProcess } from '../support/engine-process.js'

/**
 * examples/events-fanout.yaml on a real broker, run as `kubestream run` in its own process:
 * a clean run must be exact; a kill -9 mid-stream may repeat records but never lose one; a
 * second replica joining mid-stream takes partitions over without a loss or a repeat.
 */
describe('events-fanout end to end', () => {
  const { brokers, prefix, dlqTopic, sourceTopic, written, start, write, fullyCommitted } = useScenario('fanout')

  it('fans 10,000+ envelopes out exactly, with keys, headers, order, DLQ and commits', async () => {
    await write(10_500)
    const expected = expectedOutputs(written)
    const engine = start()
    // Stop as soon as the outputs are there: the shutdown itself must commit the rest.
    await waitFor('all outputs written', async () => (await countOutputs(brokers, prefix)) >= expected.length).catch(
      (error: Error) => {
        engine.child.kill('SIGKILL')
        throw new Error(`${error.message}\n${engine.output().slice(-3000)}`)
      },
    )
    await stopCleanly(engine)
    expect(await fullyCommitted()).toBe(true)

    const namespaces = new Set(expected.map((e) => e.namespace))
    expect(namespaces.size).toBeGreaterThanOrEqual(7)
    const outputs = await readOutputs(brokers, prefix)
    expect(new Set(outputs.map((m) => m.topic))).toEqual(new Set([...namespaces].map((ns) => prefix + ns)))

    // Every namespace topic holds exactly its events: same multiset, no extra, no missing, no duplicate.
    expect(summarize(outputs)).toEqual(summarize(expected.map((e) => asMessage(prefix, e))))
    for (const message of outputs) {
      const envelope = JSON.parse(message.value.toString())
      expect(message.key).toBe(envelope.event.metadata.uid)
      expect(message.headers).toMatchObject({
        verb: envelope.verb,
        type: envelope.event.type,
        reason: envelope.event.reason,
      })
    }
    expectOrderPerKey(outputs, expected)

    const dead = await readTopics(brokers, [dlqTopic])
    const malformed = written.filter((e) => e.kind === 'malformed')
    expect(malformed.length).toBeGreaterThan(0)
    expect(dead.map((m) => m.value.toString()).sort()).toEqual(malformed.map((e) => e.value.toString()).sort())
    for (const message of dead) {
      expect(message.headers[DLQ_HEADERS.topic]).toBe(sourceTopic)
      expect(Number(message.headers[DLQ_HEADERS.offset])).toBeGreaterThanOrEqual(0)
      expect(message.headers[DLQ_HEADERS.partition]).toMatch(/^[0-5]$/)
      expect(['DESERIALIZATION', 'EXPRESSION']).toContain(message.headers[DLQ_HEADERS.code])
      expect(message.headers[DLQ_HEADERS.message]).toBeTruthy()
    }
  }, 240_000)

  it('loses nothing when killed with SIGKILL mid-stream and restarted', async () => {
    const before = written.length
    // Static membership, as a StatefulSet pod has: the restart takes the partitions back at once
    // instead of waiting for the killed member's session to time out.
    const member = { KUBESTREAM_INSTANCE_ID: `fanout-${randomBytes(3).toString('hex')}` }
    let engine = start(member)
    // Write while it runs and kill it once it has visibly produced part of this round.
    let baseline = 0
    await waitFor('output counts', async () => {
      baseline = await countOutputs(brokers, prefix)
      return true
    })
    // Paced, so records keep arriving around the kill.
    let feeding = true
    const fed = (async () => {
      for (let n = 0; feeding || n < 6_000; n += 500) {
        await write(500)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })()
    await waitFor(
      'mid-stream output',
      async () => (await countOutputs(brokers, prefix)) > baseline + 2_000,
      120_000,
      100,
    )
    engine.child.kill('SIGKILL')
    const killed = await engine.exited
    expect(killed.signal).toBe('SIGKILL')
    feeding = false
    await fed
    expect(await fullyCommitted()).toBe(false)

    engine = start(member)
    await waitFor('all input committed after restart', fullyCommitted, 120_000).catch((error: Error) => {
      engine.child.kill('SIGKILL')
      throw new Error(`${error.message}\n${engine.output().slice(-3000)}`)
    })
    await stopCleanly(engine)

    const { missing, duplicates, unexpected } = compare(
      expectedOutputs(written),
      await readOutputs(brokers, prefix),
      prefix,
    )
    console.log(
      `[kill -9] ${written.length - before} envelopes written this round; after restart: ${missing} missing, ` +
        `${duplicates} duplicates (allowed under at-least-once)`,
    )
    expect(missing).toBe(0)
    expect(unexpected).toEqual([])
  }, 300_000)
})

describe('events-fanout on two replicas', () => {
  const { brokers, prefix, written, start, write, fullyCommitted } = useScenario('rebalance')

  it('hands partitions over to a second replica mid-stream without losing or repeating a record', async () => {
    const first = start()
    await waitFor('first replica assigned', () => /partitions assigned/.test(first.output()), 120_000, 100)
    let baseline = 0
    await waitFor('output counts', async () => {
      baseline = await countOutputs(brokers, prefix)
      return true
    })
    // Paced, so that records keep arriving while the group rebalances.
    let feeding = true
    const fed = (async () => {
      while (feeding) {
        await write(500)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()
    await waitFor(
      'first replica producing',
      async () => (await countOutputs(brokers, prefix)) > baseline + 1_500,
      120_000,
      100,
    )
    // The group revokes the first replica's partitions: it must flush and commit before letting go.
    const second = start()
    await waitFor('second replica assigned', () => /partitions assigned/.test(second.output()), 120_000, 100)
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    feeding = false
    await fed
    await waitFor('all input committed by the two replicas', fullyCommitted, 120_000).catch((error: Error) => {
      first.child.kill('SIGKILL')
      second.child.kill('SIGKILL')
      throw new Error(`${error.message}\n${first.output().slice(-3000)}\n${second.output().slice(-3000)}`)
    })
    await stopCleanly(second)
    await stopCleanly(first)
    expect(first.output()).toMatch(/partitions revoked/)

    const { missing, duplicates, unexpected } = compare(
      expectedOutputs(written),
      await readOutputs(brokers, prefix),
      prefix,
    )
    console.log(`[rebalance] ${missing} missing, ${duplicates} duplicates`)
    expect(missing).toBe(0)
    expect(duplicates).toBe(0)
    expect(unexpected).toEqual([])
  }, 300_000)
})

/**
 * A source topic, output prefix and application id of its own, a seeded generator, and what
 * was written, so each scenario checks only its own records.
 */
function useScenario(label: string) {
  const brokers = inject('kafkaBrokers')
  const run = `${label}-${randomBytes(3).toString('hex')}`
  const sourceTopic = `cluster-events-${run}`
  const prefix = `it-${run}.events.`
  const applicationId = `events-fanout-it-${run}`
  const dlqTopic = `${applicationId}-dlq`
  const env = { KAFKA_BROKERS: brokers, APPLICATION_ID: applicationId, SOURCE_TOPIC: sourceTopic, TOPIC_PREFIX: prefix }
  const generator = new ClusterEventGenerator({
    seed: 20261121,
    malformedRate: 0.01,
    resyncRate: 0.12,
    repeatRate: 0.3,
  })
  const written: GeneratedEnvelope[] = []
  const engines: EngineProcess[] = []
  let writer: EnvelopeWriter

  /** `kubestream run examples/events-fanout.yaml` for this scenario; killed at the end if a test left it running. */
  const start = (extra: Record<string, string> = {}) => {
    const engine = startEngine('examples/events-fanout.yaml', { ...env, ...extra })
    engines.push(engine)
    return engine
  }

  beforeAll(async () => {
    await createTopic(brokers, sourceTopic, 6)
    writer = await EnvelopeWriter.connect(brokers, sourceTopic)
  })
  afterAll(async () => {
    for (const { child } of engines) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await writer?.close()
  })

  const write = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const envelope = generator.next()
      written.push(envelope)
      await writer.write(envelope)
    }
    await writer.flush()
  }

  const fullyCommitted = async () => {
    const [ends, committed] = await Promise.all([
      endOffsets(brokers, sourceTopic),
      committedOffsets(brokers, applicationId, sourceTopic),
    ])
    return [...ends].every(([partition, end]) => committed.get(partition) === end)
  }

  return { brokers, prefix, dlqTopic, sourceTopic, written, start, write, fullyCommitted }
}

async function stopCleanly(engine: EngineProcess): Promise<void> {
  const started = Date.now()
  engine.child.kill('SIGTERM')
  const { code } = await engine.exited
  expect(code, engine.output().slice(-3000)).toBe(0)
  expect(Date.now() - started).toBeLessThan(15_000)
}

interface Expected {
  namespace: string
  uid: string
  value: string
}

/** What events-fanout must write: every envelope but the malformed and the no-op resyncs. */
function expectedOutputs(written: GeneratedEnvelope[]): Expected[] {
  return written
    .filter((e) => e.kind === 'added' || e.kind === 'repeat')
    .map((e) => ({ namespace: e.namespace!, uid: e.uid!, value: e.value.toString() }))
}

function asMessage(prefix: string, e: Expected): Pick<ReadMessage, 'topic' | 'key'> & { value: string } {
  return { topic: prefix + e.namespace, key: e.uid, value: e.value }
}

/** Expected against actual outputs, as multisets: what is missing, repeated, or should not be there at all. */
function compare(
  expected: Expected[],
  outputs: ReadMessage[],
  prefix: string,
): { missing: number; duplicates: number; unexpected: string[] } {
  const want = summarize(expected.map((e) => asMessage(prefix, e)))
  const got = summarize(outputs)
  let missing = 0
  let duplicates = 0
  for (const [id, count] of want) {
    const actual = got.get(id) ?? 0
    if (actual < count) missing += count - actual
    else duplicates += actual - count
  }
  return { missing, duplicates, unexpected: [...got.keys()].filter((id) => !want.has(id)) }
}

/** Multiset of (topic, key, value). */
function summarize(
  messages: Array<{ topic: string; key: string | null; value: Buffer | string }>,
): Map<string, number> {
  const counts = new Map<string, number>()
  for (const m of messages) {
    const id = `${m.topic}\u0000${m.key}\u0000${m.value.toString()}`
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return counts
}

/** Per key (event uid), outputs keep input order: the repeats of one Event arrive in resourceVersion order. */
function expectOrderPerKey(outputs: ReadMessage[], expected: Expected[]): void {
  const want = new Map<string, string[]>()
  for (const e of expected) want.set(e.uid, [...(want.get(e.uid) ?? []), e.value])
  const got = new Map<string, string[]>()
  for (const m of [...outputs].sort((a, b) => a.offset - b.offset))
    got.set(m.key!, [...(got.get(m.key!) ?? []), m.value.toString()])
  for (const [uid, values] of want) expect(got.get(uid), `order of ${uid}`).toEqual(values)
}

async function readOutputs(brokers: string, prefix: string): Promise<ReadMessage[]> {
  return readTopics(brokers, await listTopics(brokers, prefix))
}

async function countOutputs(brokers: string, prefix: string): Promise<number> {
  let total = 0
  for (const topic of await listTopics(brokers, prefix))
    for (const high of (await endOffsets(brokers, topic)).values()) total += high
  return total
}
