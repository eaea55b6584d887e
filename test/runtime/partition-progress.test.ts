import { describe, expect, it } from 'vitest'
import { PartitionProgress } from '../../runtime/partition-progress.js'

describe('PartitionProgress', () => {
  it('commits only past the delivered prefix of batches', () => {
    const progress = new PartitionProgress()
    const first = progress.begin(9)
    const second = progress.begin(19)
    first.pending = 2
    second.pending = 1
    expect(progress.takeCommittable()).toBeUndefined()
    second.pending = 0 // a later batch delivered first does not move the position
    expect(progress.takeCommittable()).toBeUndefined()
    first.pending = 0
    expect(progress.takeCommittable()).toBe(20)
    expect(progress.takeCommittable()).toBeUndefined()
  })

  it('commits a batch with no outputs (all filtered) once those before it are delivered', () => {
    const progress = new PartitionProgress()
    progress.begin(4)
    expect(progress.takeCommittable()).toBe(5)
    expect(progress.pendingOutputs).toBe(0)
  })
})
