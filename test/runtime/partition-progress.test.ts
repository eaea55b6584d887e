import { describe, expect, it } from 'vitest'
import { PartitionProgress } from '../../runtime/partition-progress.js'

describe('PartitionProgress', () => {
  it('offers the offset after the last processed record, once', () => {
    const progress = new PartitionProgress()
    expect(progress.takeCommittable()).toBeUndefined()
    progress.processedThrough(9)
    progress.processedThrough(19)
    expect(progress.takeCommittable()).toBe(20)
    expect(progress.takeCommittable()).toBeUndefined()
    progress.processedThrough(24)
    expect(progress.takeCommittable()).toBe(25)
  })

  it('offers the same position again after a failed commit', () => {
    const progress = new PartitionProgress()
    progress.processedThrough(9)
    expect(progress.takeCommittable()).toBe(10)
    progress.commitAgain()
    expect(progress.takeCommittable()).toBe(10)
    expect(progress.takeCommittable()).toBeUndefined()
  })

  it('never moves back when a batch of records already processed comes again', () => {
    const progress = new PartitionProgress()
    progress.processedThrough(24)
    progress.processedThrough(12)
    expect(progress.nextOffset).toBe(25)
    expect(progress.takeCommittable()).toBe(25)
  })

  it('offers offset 1 after the first record of a partition', () => {
    const progress = new PartitionProgress()
    progress.processedThrough(0)
    expect(progress.takeCommittable()).toBe(1)
  })
})
