/**
 * End-to-end latency of examples/warning-counts.yaml at a steady input rate: from an input
 * record's append to the append of the first output whose count includes it. Both topics are
 * LogAppendTime, so both instants are the one broker's clock. Under exactly-once an output is
 * appended inside a transaction, before its commit makes it visible.
 */
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { ClusterEventGenerator, type GeneratedEnvelope } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import { readTopics, type ReadMessage } from '../../simulators/kafka-topics.js'
import { warningCountKey } from '../../simulators/warning-counts-expected.js'

export interface LatencySummary {
  /** Counted input records (Warnings that are news), each with one latency. */
  samples: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Counted inputs no output ever covered: lost. */
  uncovered: number
  /**
   * p99 of each WINDOW_MS of input appends, in order: shows whether the tail is the start's
   * (a process still compiling, first connections) or the steady state's.
   */
  p99ByWindowMs: number[]
}

const TICK_MS = 10
/**
 * Inputs appended this soon after the first are not measured: a process that just started
 * compiles its hot paths and opens its first connections to each partition's leader (their
 * latencies, 100–500 ms, would be the start's, not the steady state's).
 */
const WARM_UP_MS = 3_000
/** The span of input appends each p99ByWindowMs entry covers. */
export const WINDOW_MS = 10_000

/** Creates the topics of a latency run, stamped by the broker at append. */
export async function createAppendTimeTopics(brokers: string, topics: string[], partitions: number): Promise<void> {
  const admin = new TopicAdmin({ 'bootstrap.servers': brokers })
  try {
    for (const topic of topics)
      await admin.ensureTopic(topic, {
        partitions,
        replicationFactor: 1,
        config: { 'message.timestamp.type': 'LogAppendTime' },
      })
  } finally {
    admin.close()
  }
}

/** Writes `count` generated envelopes at `rate` records/s, in 10 ms steps, as a live cluster would. */
export async function writePaced(brokers: string, topic: string, rate: number, count: number): Promise<void> {
  const writer = await EnvelopeWriter.connect(brokers, topic)
  const generator = new ClusterEventGenerator({ seed: 7, live: true })
  const started = performance.now()
  try {
    for (let written = 0; written < count;) {
      const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate))
      for (; written < due; written++) await writer.write(generator.next())
      await new Promise((resolve) => setTimeout(resolve, TICK_MS))
    }
    await writer.flush()
  } finally {
    await writer.close()
  }
}

/**
 * Reads back both topics and pairs them: the k-th counted input of a (key, window), in append
 * order, is covered by the first output of that key whose count reaches k (every output under
 * `emit: onUpdate`, the last one of a coalesced run otherwise).
 */
export async function measureLatency(
  brokers: string,
  source: string,
  output: string,
  warmUpMs = WARM_UP_MS,
): Promise<LatencySummary> {
  const [inputs, outputs] = await Promise.all([
    readTopics(brokers, [source], { timeoutMs: 120_000 }),
    readTopics(brokers, [output], { readCommitted: true, timeoutMs: 120_000 }),
  ])
  const appendsByKey = new Map<string, number[]>()
  inputs.sort(byAppend)
  const measuredFrom = (inputs[0]?.timestamp ?? 0) + warmUpMs
  for (const input of inputs) {
    const key = warningCountKey(asEnvelope(input))
    if (key === undefined) continue
    const appends = appendsByKey.get(key) ?? []
    appends.push(input.timestamp)
    appendsByKey.set(key, appends)
  }
  const outputsByKey = new Map<string, Array<{ count: number; at: number }>>()
  for (const out of outputs.sort(byAppend)) {
    const list = outputsByKey.get(out.key!) ?? []
    list.push({ count: (JSON.parse(out.value.toString()) as { value: number }).value, at: out.timestamp })
    outputsByKey.set(out.key!, list)
  }
  const latencies: number[] = []
  const windows: number[][] = []
  let uncovered = 0
  for (const [key, appends] of appendsByKey) {
    // One task counts a key: its outputs' counts rise in append order.
    const covering = outputsByKey.get(key) ?? []
    let next = 0
    appends.forEach((appendedAt, index) => {
      while (next < covering.length && covering[next].count < index + 1) next++
      if (appendedAt < measuredFrom) return
      if (next >= covering.length) return void uncovered++
      const latency = covering[next].at - appendedAt
      latencies.push(latency)
      ;(windows[Math.floor((appendedAt - measuredFrom) / WINDOW_MS)] ??= []).push(latency)
    })
  }
  const at = (q: number) => quantile(latencies, q)
  return {
    samples: latencies.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: at(1),
    uncovered,
    p99ByWindowMs: Array.from(windows, (window) => quantile(window ?? [], 0.99)),
  }
}

/** Sorts `values` in place and returns their q-quantile (NaN when empty). */
function quantile(values: number[], q: number): number {
  values.sort((a, b) => a - b)
  return values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN
}

/** When a run's outputs were appended, in ms after `since`: its first and its last. */
export async function outputSpan(
  brokers: string,
  output: string,
  since: number,
): Promise<{ firstMs: number; lastMs: number }> {
  const appends = (await readTopics(brokers, [output], { readCommitted: true, timeoutMs: 120_000 })).map(
    (message) => message.timestamp,
  )
  return { firstMs: Math.min(...appends) - since, lastMs: Math.max(...appends) - since }
}

function byAppend(a: ReadMessage, b: ReadMessage): number {
  return a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset
}

/** A record read back as the generator's envelope, enough for warningCountKey (the malformed ones have no event). */
function asEnvelope(message: ReadMessage): GeneratedEnvelope {
  let wellFormed = false
  try {
    wellFormed = (JSON.parse(message.value.toString()) as { event?: unknown }).event !== undefined
  } catch {
    // not JSON
  }
  return { kind: wellFormed ? 'added' : 'malformed', key: message.key ?? '', value: message.value }
}
