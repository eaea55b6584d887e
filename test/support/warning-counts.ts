import {
  ClusterEventGenerator,
  type GeneratedEnvelope,
  type GeneratorOptions,
} from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import {
  committedOffsets,
  endOffsets,
  partitionsInTransaction,
  readTopics,
  type ReadMessage,
} from '../../simulators/kafka-topics.js'
import { warningCountKey } from '../../simulators/warning-counts-expected.js'

const MINUTE = 60_000

/** What examples/warning-counts.yaml must end with: each (key, window)'s count of the envelopes as written. */
export function expectedWarningCounts(written: readonly GeneratedEnvelope[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const envelope of written) {
    const key = warningCountKey(envelope)
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/** The last count per (key, window) in the output: what a compacted reader would keep. */
export function lastCounts(messages: readonly ReadMessage[]): Map<string, number> {
  const last = new Map<string, number>()
  const ordered = [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  for (const message of ordered) {
    const result = JSON.parse(message.value.toString()) as {
      key: string
      windowStart: number
      windowEnd: number
      value: number
    }
    if (message.key !== `${result.key}@${result.windowStart}` || result.windowEnd !== result.windowStart + MINUTE) {
      throw new Error(`malformed result ${message.key}: ${message.value.toString()}`)
    }
    last.set(message.key, result.value)
  }
  return last
}

/** Keys whose counts differ, for a readable failure. */
export function countDifferences(expected: ReadonlyMap<string, number>, actual: ReadonlyMap<string, number>): string[] {
  const out: string[] = []
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    if (expected.get(key) !== actual.get(key)) out.push(`${key}: expected ${expected.get(key)}, got ${actual.get(key)}`)
  }
  return out
}

/**
 * The environment examples/warning-counts.yaml reads, for a run on its own topics
 * (application `<prefix>-<time>`, topics `<prefix>-<time>-src` and `-out`) under exactly-once.
 */
export function warningCountsEnv(kafka: string, prefix: string, overrides: Record<string, string> = {}) {
  const run = `${prefix}-${Date.now().toString(36)}`
  return {
    KAFKA_BROKERS: kafka,
    APPLICATION_ID: run,
    SOURCE_TOPIC: `${run}-src`,
    OUTPUT_TOPIC: `${run}-out`,
    GUARANTEE: 'exactly_once',
    WINDOW_GRACE: '1d',
    COMMIT_INTERVAL_MS: '200',
    ...overrides,
  }
}

/** Writes `count` generated envelopes to `topic` and returns them as written. */
export async function writeEnvelopes(
  brokers: string,
  topic: string,
  count: number,
  options: GeneratorOptions = { seed: 42 },
): Promise<GeneratedEnvelope[]> {
  const writer = await EnvelopeWriter.connect(brokers, topic)
  const generator = new ClusterEventGenerator(options)
  const written: GeneratedEnvelope[] = []
  try {
    for (let i = 0; i < count; i++) {
      const envelope = generator.next()
      written.push(envelope)
      await writer.write(envelope)
    }
    await writer.flush()
  } finally {
    await writer.close()
  }
  return written
}

/**
 * warning-counts' group has committed every input record and every committed repartition record (the
 * offsets after a repartition topic's last records are transaction markers, never consumed), and no
 * transaction is left open in its repartition or output topic. In this order: the transaction that
 * commits an input offset also commits the repartition records it caused, so the repartition topic
 * read after seeing the input committed holds all of them. A transaction left open by a replica
 * that lost its partitions hides, until it is aborted, the records written after it by their new
 * owner: its repartition records are not read yet, and its outputs not readable.
 */
export async function allCommitted(
  kafka: string,
  { APPLICATION_ID: applicationId, SOURCE_TOPIC: source, OUTPUT_TOPIC: output }: WarningCountsTopics,
): Promise<boolean> {
  const [ends, sourceCommitted] = await Promise.all([
    endOffsets(kafka, source),
    committedOffsets(kafka, applicationId, source),
  ])
  const behind: string[] = []
  for (const [partition, end] of ends)
    if ((sourceCommitted.get(partition) ?? 0) < end) behind.push(`${source}-${partition}`)
  if (behind.length > 0) throw new Error(`not committed yet: ${behind.join(', ')}`)

  const repartition = `${applicationId}-per-minute-repartition`
  const repartitioned = await readTopics(kafka, [repartition], { readCommitted: true, timeoutMs: 5_000 })
  const repartitionCommitted = await committedOffsets(kafka, applicationId, repartition)
  const lastRead = new Map<number, number>()
  for (const { partition, offset } of repartitioned)
    lastRead.set(partition, Math.max(offset, lastRead.get(partition) ?? 0))
  for (const [partition, last] of lastRead)
    if ((repartitionCommitted.get(partition) ?? 0) <= last) behind.push(`${repartition}-${partition}`)
  if (behind.length > 0) throw new Error(`not committed yet: ${behind.join(', ')}`)
  for (const topic of [repartition, output])
    for (const partition of await partitionsInTransaction(kafka, topic)) behind.push(`${topic}-${partition}`)
  if (behind.length > 0) throw new Error(`a transaction is still open in ${behind.join(', ')}`)
  return true
}

/** The names allCommitted reads, as warningCountsEnv gives them. */
export interface WarningCountsTopics {
  readonly APPLICATION_ID: string
  readonly SOURCE_TOPIC: string
  readonly OUTPUT_TOPIC: string
}
