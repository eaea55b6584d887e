import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { ConsumedMessage } from '../../core/record-consumer.js'
import type { StreamRecord } from '../../core/record.js'
import type { CommitHooks } from '../../runtime/commit.js'
import { type LocalState, StreamThread } from '../../runtime/stream-thread.js'
import { TaskManager } from '../../runtime/task-manager.js'
import { StateDirectory } from '../../state/state-directory.js'
import { compileTopology } from '../../topology/compile.js'
import { loadTopology } from '../../topology/load.js'
import { MemoryCollector } from './memory-collector.js'
import { MemoryConsumer } from './memory-consumer.js'

/** `in` (1 partition) → count per key in store `counts` → `out`: one task, one store. */
function countingTopology(
  guarantee: 'at_least_once' | 'exactly_once',
  commitIntervalMs = 3_600_000,
  maxBufferedChanges = 25_000,
): string {
  return `
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: unit }
spec:
  processing:
    guarantee: ${guarantee}
    commitIntervalMs: ${commitIntervalMs}
    maxBufferedChanges: ${maxBufferedChanges}
  sources:
    - name: in
      kafka: { topic: in }
  steps:
    - name: counts
      from: in
      count: { store: counts }
  sinks:
    - name: out
      from: counts
      kafka: { topic: out }
`
}

export const CHANGELOG = 'unit-counts-changelog'

/**
 * A StreamThread with its real task manager, tasks, pipelines and LMDB stores (in a temp dir),
 * over the in-memory collector and consumer, which share one call log. The changelog starts
 * empty, so a restore has nothing to replay: `restore` only logs.
 */
export function threadHarness(
  guarantee: 'at_least_once' | 'exactly_once',
  commitIntervalMs?: number,
  commitHooks?: CommitHooks,
  maxBufferedChanges?: number,
) {
  const calls: string[] = []
  const collector = new MemoryCollector(calls)
  const consumer = new MemoryConsumer(calls)
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-thread-'))
  const directory = StateDirectory.open(dir, 'unit')
  const compiled = compileTopology(loadTopology(countingTopology(guarantee, commitIntervalMs, maxBufferedChanges)))
  const deadLetters: Array<{ record: StreamRecord; step: string }> = []
  const deadLetter = (record: StreamRecord, _error: unknown, step: string) => void deadLetters.push({ record, step })
  const tasks = new TaskManager(
    compiled,
    () => ({
      collector,
      deadLetter,
      fail: (error) => thread.fail(error),
      windowCounters: { lateRecords: 0 },
      globalTable: (name) => {
        throw new Error(`no global table ${name}`)
      },
    }),
    () => directory,
  )
  const state: LocalState = {
    directory,
    poll: async () => undefined,
    restore: async (restoring) => void calls.push(`restore ${restoring.map((task) => task.id).join(',')}`),
  }
  const thread: StreamThread = new StreamThread({
    consumer,
    collector,
    tasks,
    processing: compiled.graph.processing,
    exactlyOnce: guarantee === 'exactly_once',
    state,
    ingest: undefined,
    deadLetter,
    log: pino({ level: 'silent' }),
    consumedByTopic: new Map(),
    commitHooks,
  })
  let offset = 0
  return {
    calls,
    collector,
    consumer,
    directory,
    tasks,
    thread,
    deadLetters,
    /** Queues one batch of records keyed `key` on in-0. */
    push(count: number, key = 'k') {
      const batch: ConsumedMessage[] = Array.from({ length: count }, () => ({
        topic: 'in',
        partition: 0,
        offset: offset++,
        key,
        value: Buffer.from('{}'),
        timestamp: 1_700_000_000_000,
      }))
      consumer.push(...batch)
    },
    /** The consumer reads again from `from`, as it does from the committed offset after a migration. */
    readFrom(from: number) {
      offset = from
    },
    /** The value of the last output record, as text. */
    lastOutput() {
      return collector.sentTo('out').at(-1)?.value?.toString()
    },
    /** What LMDB holds for the counts store of in-0: its checkpoint and its keys. */
    onDisk() {
      const store = directory.storePartition('counts', CHANGELOG, 0)
      return { checkpoint: directory.checkpoint(store), keys: store.entriesOnDisk().length }
    },
    /** The calls after the first `from` index, without the outputs to `out`. */
    callsSince(from: number) {
      return calls.slice(from).filter((call) => call !== 'send out')
    },
    async close() {
      tasks.close(tasks.all())
      await directory.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
