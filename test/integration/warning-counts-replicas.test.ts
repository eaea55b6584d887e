import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { ClusterEventGenerator, type GeneratedEnvelope, mulberry32 } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import { createTopic, readTopics } from '../../simulators/kafka-topics.js'
import type { ProcessingGuarantee } from '../../topology/spec.js'
import { type EngineProcess, startEngine, waitFor } from '../support/engine-process.js'
import { countDifferences, expectedWarningCounts, lastCounts } from '../support/warning-counts.js'

const brokers = inject('kafkaBrokers')
const EVENTS = Number(process.env.CHAOS_EVENTS ?? 200_000)
const ROUNDS = 20
const KILLS = 6
const cleanup: Array<() => void> = []
afterAll(() => {
  for (const step of cleanup) step()
})

/**
 * examples/warning-counts.yaml as three `kubestream run` processes sharing a 6-partition input
 * through the consumer group, each with its own state dir and instance id (as StatefulSet pods
 * have). While the input is written, replicas are killed with -9 and restarted, a fourth joins
 * and one leaves for good. The last result per (key, window) must then equal the counts
 * computed from the input alone: exactly under exactly-once, never less under at-least-once.
 */
describe('warning-counts on replicas that crash, join and leave', () => {
  for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
    it(`ends with ${guarantee === 'exactly_once' ? 'exact' : 'no lost'} counts under ${guarantee}`, async () => {
      const { written, output, replicas, start, kill, stop, stopAll } = await cluster(guarantee)
      const writer = await EnvelopeWriter.connect(brokers, `wcr-src-${output}`)
      const generator = new ClusterEventGenerator({ seed: 7 })
      const random = mulberry32(99)
      const events: string[] = []
      const restarts: EngineProcess[] = []
      try {
        for (let i = 0; i < 3; i++) start(i)
        await waitFor(
          'three replicas assigned',
          () => replicas.slice(0, 3).every((r) => /partitions assigned/.test(r!.output())),
          120_000,
          100,
        )
        let kills = 0
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < EVENTS / ROUNDS; i++) {
            const envelope = generator.next()
            written.push(envelope)
            await writer.write(envelope)
          }
          await writer.flush()
          if (round === 8) {
            start(3)
            events.push(`round ${round}: replica-3 joins`)
          } else if (round === 14) {
            await stop(0)
            events.push(`round ${round}: replica-0 leaves (SIGTERM)`)
          } else if (kills < KILLS && round % 2 === 1) {
            const candidates = [1, 2, 3].filter((i) => replicas[i])
            const victim = candidates[Math.floor(random() * candidates.length)]
            await kill(victim)
            kills++
            events.push(`round ${round}: replica-${victim} killed -9`)
            await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1_500))
            restarts.push(start(victim))
          }
          await new Promise((resolve) => setTimeout(resolve, 1_500))
        }
        await writer.close()
        expect(kills).toBeGreaterThanOrEqual(5)

        const expected = expectedWarningCounts(written)
        let actual = new Map<string, number>()
        const settled = () =>
          guarantee === 'exactly_once'
            ? countDifferences(expected, actual).length === 0
            : [...expected].every(([key, count]) => (actual.get(key) ?? 0) >= count)
        await waitFor(
          'the last results to settle',
          async () => {
            actual = lastCounts(await readTopics(brokers, [output], { readCommitted: true }))
            return settled()
          },
          240_000,
          3_000,
        ).catch(() => undefined)
        console.log(
          `[${guarantee}] ${written.length} envelopes, ${expected.size} (key, window) results; ${events.join('; ')}`,
        )
        // A replica restarted on its own state dir replays only the changelog's tail, never all of it.
        const restores = restarts
          .flatMap((replica) =>
            replica
              .output()
              .split('\n')
              .filter((line) => line.includes('"msg":"state restored"') || line.includes('nothing to restore')),
          )
          .map((line) => JSON.parse(line) as { stores: Array<{ from: number; to: number; records: number }> })
        const replayed = restores.flatMap((r) => r.stores).reduce((sum, s) => sum + s.records, 0)
        const full = restores.flatMap((r) => r.stores).reduce((sum, s) => sum + s.to, 0)
        console.log(
          `[${guarantee}] restarted replicas replayed ${replayed} changelog records where a full restore would ` +
            `replay ${full}`,
        )
        expect(restores.length).toBeGreaterThan(0)
        // Restarts that got their own tasks back resumed at their checkpoint; a task that is new
        // to a replica (the group moved it while its owner was down) restores whole, so how much
        // less than `full` depends on the assignment: only "some resumed, and less than all" is exact.
        expect(restores.flatMap((r) => r.stores).some((s) => s.from > 0)).toBe(true)
        expect(replayed).toBeLessThan(full)
        if (guarantee === 'exactly_once') {
          expect(countDifferences(expected, actual)).toEqual([])
        } else {
          const lost = [...expected].filter(([key, count]) => (actual.get(key) ?? 0) < count)
          const overcounted = [...expected].filter(([key, count]) => (actual.get(key) ?? 0) > count).length
          console.log(
            `[${guarantee}] ${lost.length} results short, ${overcounted} counted some records twice (allowed)`,
          )
          expect(lost).toEqual([])
        }
      } catch (error) {
        for (const replica of replicas) if (replica) console.log(replica.output().slice(-2_000))
        throw error
      } finally {
        await stopAll()
      }
    }, 600_000)
  }
})

async function cluster(guarantee: ProcessingGuarantee) {
  const run = `${guarantee === 'exactly_once' ? 'eos' : 'alos'}-${Date.now().toString(36)}`
  const output = `wcr-out-${run}`
  await createTopic(brokers, `wcr-src-${output}`, 6)
  const written: GeneratedEnvelope[] = []
  const stateDirs = Array.from({ length: 4 }, () => mkdtempSync(join(tmpdir(), 'kubestream-replica-')))
  cleanup.push(() => {
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true })
  })
  const replicas: Array<EngineProcess | undefined> = []
  // A test that timed out never reached its finally: its replicas must not outlive the suite.
  cleanup.unshift(() => {
    for (const replica of replicas) replica?.child.kill('SIGKILL')
  })
  const start = (i: number) => {
    return (replicas[i] = startEngine('examples/warning-counts.yaml', {
      KAFKA_BROKERS: brokers,
      APPLICATION_ID: `wcr-${run}`,
      SOURCE_TOPIC: `wcr-src-${output}`,
      OUTPUT_TOPIC: output,
      GUARANTEE: guarantee,
      WINDOW_GRACE: '1d',
      COMMIT_INTERVAL_MS: '500',
      SESSION_TIMEOUT_MS: '10000',
      KUBESTREAM_STATE_DIR: stateDirs[i],
      KUBESTREAM_INSTANCE_ID: `replica-${i}`,
    }))
  }
  const kill = async (i: number) => {
    replicas[i]!.child.kill('SIGKILL')
    await replicas[i]!.exited
  }
  const stop = async (i: number) => {
    // The replica bounds its own shutdown (shutdownTimeoutMs); one that outlives that is the fault to show.
    const { code } = await terminate(replicas[i]!, 60_000)
    if (code !== 0) throw new Error(`replica-${i} exited ${code} on SIGTERM:\n${replicas[i]!.output().slice(-3000)}`)
    replicas[i] = undefined
  }
  const stopAll = async () => {
    await Promise.all(
      replicas.map(async (replica) => {
        if (replica && replica.child.exitCode === null) await terminate(replica, 30_000)
      }),
    )
  }
  return { written, output, replicas, start, kill, stop, stopAll }
}

/** SIGTERM, then SIGKILL if the replica has not exited after `graceMs`. */
async function terminate(replica: EngineProcess, graceMs: number) {
  replica.child.kill('SIGTERM')
  const timer = setTimeout(() => replica.child.kill('SIGKILL'), graceMs)
  const exit = await replica.exited
  clearTimeout(timer)
  return exit
}
