import type Kafka from 'node-rdkafka'
import { Subject } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { serdes } from '../../connectors/serde/serde.js'
import type { RecordBatch } from '../../operators/record.js'
import { StreamTask } from '../../runtime/stream-task.js'
import { PartitionProgress } from '../../runtime/partition-progress.js'

function message(offset: number, value: string): Kafka.Message {
  return { topic: 'in', partition: 2, offset, key: `k${offset}`, value: Buffer.from(value), size: value.length, timestamp: 1_700_000_000_000 }
}

function harness() {
  const pipeline = new Subject<RecordBatch>()
  const seen: number[] = []
  const dead: number[] = []
  pipeline.subscribe((batch) => seen.push(...batch.map((r) => r.origin.offset)))
  const progress = new PartitionProgress()
  const inputs = new Map([['in', { sourceName: 'src', serde: serdes.json, pipeline, progress }]])
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
