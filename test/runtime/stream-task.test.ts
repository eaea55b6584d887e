import type Kafka from 'node-rdkafka'
import { Subject } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { serdes } from '../../connectors/serde/serde.js'
import type { RecordBatch } from '../../core/record.js'
import { PartitionProgress } from '../../runtime/partition-progress.js'
import { StreamTask } from '../../runtime/stream-task.js'

function message(offset: number, value: string, topic = 'in', timestamp = 1_700_000_000_000): Kafka.Message {
  return { topic, partition: 2, offset, key: `k${offset}`, value: Buffer.from(value), size: value.length, timestamp }
}

function harness() {
  const pipeline = new Subject<RecordBatch>()
  const seen: number[] = []
  const dead: number[] = []
  pipeline.subscribe((batch) => seen.push(...batch.map((r) => r.origin.offset)))
  const progress = new PartitionProgress()
  const inputs = new Map([['in', { topic: 'in', sourceName: 'src', serde: serdes.json, pipeline, progress }]])
  const task = new StreamTask('0_2', 2, inputs, undefined, (record) => dead.push(record.origin.offset))
  return { task, seen, dead, progress }
}

describe('StreamTask', () => {
  it('decodes a batch, dead-letters what does not decode, and records the position', () => {
    const { task, seen, dead, progress } = harness()
    task.process('in', [message(5, '{"a":1}'), message(6, 'not json'), message(7, '{"a":2}')])
    expect(seen).toEqual([5, 7])
    expect(dead).toEqual([6])
    expect(progress.takeCommittable()).toBe(8)
  })

  it('skips records it already processed when a partition comes back with a batch fetched before', () => {
    const { task, seen, progress } = harness()
    task.process('in', [message(5, '{}'), message(6, '{}'), message(7, '{}')])
    task.process('in', [message(6, '{}'), message(7, '{}'), message(8, '{}')])
    task.process('in', [message(7, '{}')])
    expect(seen).toEqual([5, 6, 7, 8])
    expect(progress.takeCommittable()).toBe(9)
  })
})

describe('StreamTask with two inputs', () => {
  function twoInputs() {
    const seen: string[] = []
    const inputs = new Map(
      ['stream', 'table'].map((topic) => {
        const pipeline = new Subject<RecordBatch>()
        pipeline.subscribe((batch) => seen.push(...batch.map((r) => `${topic}@${r.timestamp}`)))
        return [
          topic,
          { topic, sourceName: topic, serde: serdes.json, pipeline, progress: new PartitionProgress() },
        ] as const
      }),
    )
    const task = new StreamTask('0_2', 2, new Map(inputs), undefined, () => undefined)
    return { task, seen, inputs }
  }

  it('interleaves its inputs by timestamp, waiting for an input that is not caught up', () => {
    const { task, seen, inputs } = twoInputs()
    task.process('stream', [
      message(0, '{}', 'stream', 10),
      message(1, '{}', 'stream', 30),
      message(2, '{}', 'stream', 50),
    ])
    task.drain(() => 'behind', 1_000, 0)
    expect(seen).toEqual([]) // the table has nothing yet and is not caught up: wait
    task.process('table', [message(0, '{}', 'table', 20), message(1, '{}', 'table', 40)])
    task.drain(() => 'behind', 1_000, 0)
    // The stream's 50 waits: the table may still bring something older.
    expect(seen).toEqual(['stream@10', 'table@20', 'stream@30', 'table@40'])
    task.drain((topic) => (topic === 'table' ? 'caught-up' : 'behind'), 1_000, 0)
    expect(seen).toEqual(['stream@10', 'table@20', 'stream@30', 'table@40', 'stream@50'])
    expect(inputs.get('stream')!.progress.takeCommittable()).toBe(3)
    expect(inputs.get('table')!.progress.takeCommittable()).toBe(2)
  })

  it('stops waiting for a silent input after the idle time', () => {
    const { task, seen } = twoInputs()
    task.process('stream', [message(0, '{}', 'stream', 10)])
    task.drain(() => 'behind', 1_000, 0)
    task.drain(() => 'behind', 1_000, 999)
    expect(seen).toEqual([])
    task.drain(() => 'behind', 1_000, 1_000)
    expect(seen).toEqual(['stream@10'])
    // Once waited out, the silent input holds nothing back until it brings a record.
    task.process('stream', [message(1, '{}', 'stream', 20)])
    task.drain(() => 'behind', 1_000, 1_001)
    expect(seen).toEqual(['stream@10', 'stream@20'])
    task.process('table', [message(0, '{}', 'table', 30)])
    task.process('stream', [message(2, '{}', 'stream', 40)])
    task.drain(() => 'behind', 1_000, 1_002)
    expect(seen).toEqual(['stream@10', 'stream@20', 'table@30'])
  })

  it('waits for an input whose end is not known yet past the idle time, as Kafka Streams does (KIP-695)', () => {
    const { task, seen } = twoInputs()
    task.process('stream', [message(0, '{}', 'stream', 10)])
    const tableUnknown = (topic: string) => (topic === 'table' ? 'unknown' : 'behind')
    task.drain(tableUnknown, 1_000, 0)
    task.drain(tableUnknown, 1_000, 60_000)
    expect(seen).toEqual([])
    // Fetched, and empty: nothing to wait for.
    task.drain(() => 'caught-up', 1_000, 60_001)
    expect(seen).toEqual(['stream@10'])
  })

  it('tells fetchPosition the next offset it expects of an input, once it has had one', () => {
    const { task } = twoInputs()
    const asked: Array<[string, number | undefined]> = []
    task.process('stream', [message(4, '{}', 'stream', 10)])
    task.drain((topic, next) => (asked.push([topic, next]), 'caught-up'), 1_000, 0)
    task.process('table', [message(7, '{}', 'table', 20)])
    task.drain((topic, next) => (asked.push([topic, next]), 'caught-up'), 1_000, 0)
    expect(new Set(asked.map(([topic, next]) => `${topic}:${next}`))).toEqual(
      new Set(['table:undefined', 'stream:5', 'table:8']),
    )
  })
})
