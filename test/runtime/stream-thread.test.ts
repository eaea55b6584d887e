import { afterEach, describe, expect, it } from 'vitest'
import { KafkaError, transactionError } from '../../connectors/kafka/kafka-error.js'
import { waitFor } from '../support/engine-process.js'
import { CHANGELOG, threadHarness } from '../support/runtime.js'

/**
 * The stream thread against the in-memory collector and consumer: the commit order, the
 * hand-over on revoke and the shutdown commit, and what a failure at each step leaves behind.
 * LMDB is real; only the Kafka clients are replaced.
 */
/** The calls one commit of the three records on in-0 makes, in order, under each guarantee. */
const AT_LEAST_ONCE_COMMIT = [`send ${CHANGELOG}`, 'flush', 'commitSync in-0@3', `endOffset ${CHANGELOG}-0`]
const EXACTLY_ONCE_COMMIT = [
  `send ${CHANGELOG}`,
  'flush',
  'sendOffsetsToTransaction in-0@3',
  'commitTransaction',
  `endOffset ${CHANGELOG}-0`,
]

type Harness = ReturnType<typeof threadHarness>
let harness: Harness | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
})

/** Starts the thread on in-0 and waits until it has processed `records` records and restored the task. */
async function running(guarantee: 'at_least_once' | 'exactly_once', records = 3) {
  const h = (harness = threadHarness(guarantee))
  h.thread.assign([{ topic: 'in', partition: 0 }])
  h.push(records)
  const run = h.thread.run()
  run.catch(() => undefined)
  await waitFor('the records processed', () => h.collector.sentTo('out').length === records, 5_000, 2)
  return { ...h, run }
}

async function stopped(h: Awaited<ReturnType<typeof running>>): Promise<void> {
  h.thread.requestStop()
  await h.run
}

describe('StreamThread under at_least_once', () => {
  it('restores a new task before it processes, then commits in order: changelog, flush, offsets, LMDB', async () => {
    const h = await running('at_least_once')
    expect(h.calls.filter((call) => call !== 'send out').slice(0, 2)).toEqual(['flush', 'restore 0_0'])
    const from = h.calls.length
    await stopped(h)
    await h.thread.shutdown(1_000)
    expect(h.callsSince(from)).toEqual(AT_LEAST_ONCE_COMMIT)
    expect(h.consumer.committed.get('in-0')).toBe(3)
    expect(h.onDisk()).toEqual({ checkpoint: 1, keys: 1 })
  })

  it('applies nothing to LMDB and commits nothing when the flush fails', async () => {
    const h = await running('at_least_once')
    await stopped(h)
    h.collector.failNext.set('flush', new KafkaError('DELIVERY', 'delivery to out failed'))
    await expect(h.thread.shutdown(1_000)).rejects.toThrow(/delivery to out failed/)
    expect(h.consumer.committed.size).toBe(0)
    expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
  })

  it('applies nothing to LMDB when the offset commit fails', async () => {
    const h = await running('at_least_once')
    await stopped(h)
    h.consumer.failNextCommit = new Error('broker down')
    await expect(h.thread.shutdown(1_000)).rejects.toThrow(/broker down/)
    expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
  })

  it('applies nothing to LMDB when the changelog end offset cannot be read', async () => {
    const h = await running('at_least_once')
    await stopped(h)
    h.collector.failNext.set('endOffset', new KafkaError('CONNECT', 'cannot read the end offset'))
    await expect(h.thread.shutdown(1_000)).rejects.toThrow(/cannot read the end offset/)
    expect(h.consumer.committed.get('in-0')).toBe(3)
    expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
  })

  it('hands revoked partitions over only after committing them, then closes their tasks', async () => {
    const h = await running('at_least_once')
    const from = h.calls.length
    let handedOver = false
    const revoked = h.thread.revoke([{ topic: 'in', partition: 0 }]).then(() => (handedOver = true))
    expect(handedOver).toBe(false)
    await revoked
    expect(h.callsSince(from)).toEqual(AT_LEAST_ONCE_COMMIT)
    expect(h.tasks.size).toBe(0)
    expect(h.onDisk()).toEqual({ checkpoint: 1, keys: 1 })
    await stopped(h)
  })

  it('hands over without the refused commit, drops the uncommitted store writes and keeps running', async () => {
    const h = await running('at_least_once')
    h.consumer.failNextCommit = new KafkaError(
      'COMMIT',
      'commit failed: Broker: Specified group generation id is not valid',
    )
    await h.thread.revoke([{ topic: 'in', partition: 0 }])
    expect(h.tasks.size).toBe(0)
    expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
    expect(h.thread.failed).toBeUndefined()
    h.thread.assign([{ topic: 'in', partition: 0 }])
    h.push(2)
    await waitFor('the records processed', () => h.collector.sentTo('out').length === 5, 5_000, 2)
    await stopped(h)
    await h.thread.shutdown(1_000)
    expect(h.consumer.committed.get('in-0')).toBe(5)
  })

  it('stops on a failed delivery during the hand-over, and still lets the partitions go', async () => {
    const h = await running('at_least_once')
    h.collector.failNext.set('flush', new KafkaError('DELIVERY', 'delivery to out failed'))
    await h.thread.revoke([{ topic: 'in', partition: 0 }])
    await expect(h.run).rejects.toThrow(/delivery to out failed/)
    expect(h.tasks.size).toBe(0)
    expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
  })

  it('treats a shutdown commit the group refused as a hand-over, not a failure', async () => {
    const h = await running('at_least_once')
    await stopped(h)
    h.consumer.failNextCommit = new KafkaError('COMMIT', 'commit failed: Broker: Unknown member')
    await h.thread.shutdown(1_000)
    expect(h.tasks.size).toBe(0)
  })

  it('offers the positions again after a background commit failed', async () => {
    const h = (harness = threadHarness('at_least_once', 10))
    h.thread.assign([{ topic: 'in', partition: 0 }])
    h.push(3)
    const run = h.thread.run()
    await waitFor('the offsets committed', () => h.calls.includes('commit in-0@3'), 5_000, 2)
    h.consumer.reportCommitError(new KafkaError('COMMIT', 'offset commit failed: Broker: Request timed out'))
    const from = h.calls.length
    await waitFor('the offsets committed', () => h.calls.slice(from).includes('commit in-0@3'), 5_000, 2)
    h.thread.requestStop()
    await run
  })

  it('starts the next interval when a commit starts, so a slow commit does not delay the next', async () => {
    // Each commit takes longer than the interval: the next one is due as soon as it ends (the
    // interval counted from its end would hold it back a whole interval more).
    const intervalMs = 1_000
    const ends: number[] = []
    const starts: number[] = []
    const h = (harness = threadHarness('at_least_once', intervalMs, {
      afterFlush: async (_offsets, reason) => {
        if (reason !== 'interval') return
        starts.push(performance.now())
        await new Promise((resolve) => setTimeout(resolve, intervalMs + 100))
        ends.push(performance.now())
      },
    }))
    h.thread.assign([{ topic: 'in', partition: 0 }])
    h.push(3)
    const run = h.thread.run()
    await waitFor('two interval commits', () => starts.length >= 2, 10_000, 2)
    h.thread.requestStop()
    await run
    expect(starts[1] - ends[0]).toBeLessThan(intervalMs / 2)
  })

  it('commits before the interval is up once the tasks hold maxBufferedChanges store changes', async () => {
    const h = (harness = threadHarness('at_least_once', 3_600_000, undefined, 5))
    h.thread.assign([{ topic: 'in', partition: 0 }])
    for (const key of ['a', 'b', 'c', 'd']) h.push(1, key)
    const run = h.thread.run()
    await waitFor('four keys counted', () => h.collector.sentTo('out').length === 4, 5_000, 2)
    // A key written again is one change: still four.
    h.push(1, 'a')
    await waitFor('the fifth record', () => h.collector.sentTo('out').length === 5, 5_000, 2)
    expect(h.calls).not.toContain(`send ${CHANGELOG}`)
    h.push(1, 'e')
    await waitFor('a commit of the five keys', () => h.consumer.committed.get('in-0') === 6, 5_000, 2)
    expect(h.collector.sentTo(CHANGELOG)).toHaveLength(5)
    h.thread.requestStop()
    await run
  })
})

describe('StreamThread under exactly_once', () => {
  it('commits changelog, outputs and offsets in one transaction, then LMDB', async () => {
    const h = await running('exactly_once')
    const from = h.calls.length
    await stopped(h)
    await h.thread.shutdown(1_000)
    expect(h.callsSince(from)).toEqual(EXACTLY_ONCE_COMMIT)
    expect(h.collector.transactions.at(-1)).toEqual([{ topic: 'in', partition: 0, offset: 3 }])
    expect(h.consumer.committed.size).toBe(0)
    expect(h.onDisk()).toEqual({ checkpoint: 1, keys: 1 })
  })

  for (const step of ['flush', 'sendOffsetsToTransaction', 'commitTransaction'] as const) {
    it(`leaves LMDB at its last checkpoint when ${step} fails`, async () => {
      const h = await running('exactly_once')
      await stopped(h)
      h.collector.failNext.set(step, new KafkaError('TRANSACTION', `cannot ${step}`))
      await expect(h.thread.shutdown(1_000)).rejects.toThrow(`cannot ${step}`)
      expect(h.collector.transactions.every((offsets) => offsets.length === 0)).toBe(true)
      expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
    })
  }

  it('commits the hand-over in a transaction before letting the partition go', async () => {
    const h = await running('exactly_once')
    const from = h.calls.length
    await h.thread.revoke([{ topic: 'in', partition: 0 }])
    expect(h.callsSince(from)).toEqual(EXACTLY_ONCE_COMMIT)
    expect(h.onDisk()).toEqual({ checkpoint: 1, keys: 1 })
    await stopped(h)
  })
})

describe('StreamThread when the group or the transaction moves on under exactly_once', () => {
  const generation = { code: 22, message: 'Broker: Specified group generation id is not valid' }
  const moves = [
    ['sendOffsetsToTransaction', 'an illegal generation', { ...generation, isTxnRequiresAbort: true }],
    ['sendOffsetsToTransaction', 'an unknown member', { code: 25, message: 'Broker: Unknown member' }],
    ['sendOffsetsToTransaction', 'a rebalance in progress', { code: 27, message: 'Broker: rebalance in progress' }],
    ['commitTransaction', 'an abortable error', { code: -172, message: 'Local: state', isTxnRequiresAbort: true }],
  ] as const

  for (const [step, what, failure] of moves) {
    it(`aborts, closes every task, and counts exactly once assigned again after ${what} in ${step}`, async () => {
      const h = (harness = threadHarness('exactly_once', 20))
      h.thread.assign([{ topic: 'in', partition: 0 }])
      const run = h.thread.run()
      await waitFor('the task restored', () => h.calls.includes('restore 0_0'), 5_000, 2)
      h.collector.failNext.set(step, transactionError('commit', failure))
      h.push(3)
      await waitFor('the recovery', () => h.calls.includes('rejoin'), 5_000, 2)
      expect(h.calls.slice(h.calls.indexOf('abort'))).toEqual(['abort', 'rejoin'])
      expect(h.tasks.size).toBe(0)
      expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
      // The group assigns the partition again; it is read from its committed offset (none: 0).
      h.readFrom(0)
      h.thread.assign([{ topic: 'in', partition: 0 }])
      h.push(3)
      await waitFor('the records processed again', () => h.collector.sentTo('out').length === 6, 5_000, 2)
      h.thread.requestStop()
      await run
      await h.thread.shutdown(1_000)
      expect(h.thread.failed).toBeUndefined()
      expect(h.lastOutput()).toBe('3')
      expect(h.collector.transactions.at(-1)).toEqual([{ topic: 'in', partition: 0, offset: 3 }])
      expect(h.onDisk().keys).toBe(1)
    })
  }

  it('recovers the same way when the commit on revoke is refused, and lets the partition go', async () => {
    const h = await running('exactly_once')
    h.collector.failNext.set('sendOffsetsToTransaction', transactionError('send offsets to', generation))
    await h.thread.revoke([{ topic: 'in', partition: 0 }])
    await waitFor('the recovery', () => h.calls.includes('rejoin'), 5_000, 2)
    expect(h.calls.slice(-2)).toEqual(['abort', 'rejoin'])
    expect(h.tasks.size).toBe(0)
    expect(h.thread.failed).toBeUndefined()
    await stopped(h)
  })

  it('recovers the same way when the commit before a restore is refused', async () => {
    const h = (harness = threadHarness('exactly_once'))
    h.collector.failNext.set('commitTransaction', transactionError('commit', { code: 27, message: 'rebalancing' }))
    h.thread.assign([{ topic: 'in', partition: 0 }])
    const run = h.thread.run()
    await waitFor('the recovery', () => h.calls.includes('rejoin'), 5_000, 2)
    expect(h.calls).not.toContain('restore 0_0')
    h.thread.assign([{ topic: 'in', partition: 0 }])
    h.push(2)
    await waitFor('the records processed', () => h.collector.sentTo('out').length === 2, 5_000, 2)
    expect(h.calls).toContain('restore 0_0')
    h.thread.requestStop()
    await run
  })

  it('recovers when the consumer could not apply a rebalance', async () => {
    const h = await running('exactly_once')
    h.thread.fail(new KafkaError('REBALANCE', 'cannot take partitions in a rebalance: Local: Erroneous state'))
    await waitFor('the recovery', () => h.calls.includes('rejoin'), 5_000, 2)
    expect(h.tasks.size).toBe(0)
    expect(h.thread.failed).toBeUndefined()
    await stopped(h)
  })

  it('stops with a named error when another producer took the transactional.id', async () => {
    const h = await running('exactly_once')
    const fenced = { code: -144, message: 'Local: This instance has been fenced by a newer instance', isFatal: true }
    h.collector.failNext.set('sendOffsetsToTransaction', transactionError('send offsets to', fenced))
    await h.thread.revoke([{ topic: 'in', partition: 0 }])
    await expect(h.run).rejects.toMatchObject({ code: 'PRODUCER_FENCED' })
    expect(h.calls).not.toContain('abort')
    expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
  })

  it('aborts the open transaction when the group refuses the commit on shutdown', async () => {
    const h = await running('exactly_once')
    await stopped(h)
    h.collector.failNext.set('sendOffsetsToTransaction', transactionError('send offsets to', generation))
    await h.thread.shutdown(1_000)
    expect(h.calls.at(-1)).toBe('abort')
    expect(h.onDisk()).toEqual({ checkpoint: undefined, keys: 0 })
  })
})
