import type { DeliveryAck } from '../operators/record.js'

interface InFlightBatch {
  readonly ack: DeliveryAck
  /** The offset to commit once this batch and all before it are delivered. */
  readonly nextOffset: number
}

/**
 * The at-least-once bookkeeping of one input partition: batches in consumption order, each
 * with the number of its outputs still awaiting a delivery report. The committable position
 * is the end of the longest delivered prefix, so a crash can only repeat records, never skip.
 */
export class PartitionProgress {
  private readonly inFlight: InFlightBatch[] = []
  private committed = -1

  /** Opens a batch that ends at `lastOffset`; its outputs raise the returned ack's `pending`. */
  begin(lastOffset: number): DeliveryAck {
    const ack: DeliveryAck = { pending: 0 }
    this.inFlight.push({ ack, nextOffset: lastOffset + 1 })
    return ack
  }

  /** The next offset to commit, or undefined when nothing new is fully delivered. */
  takeCommittable(): number | undefined {
    let next: number | undefined
    while (this.inFlight.length > 0 && this.inFlight[0].ack.pending === 0) next = this.inFlight.shift()!.nextOffset
    if (next === undefined || next <= this.committed) return undefined
    this.committed = next
    return next
  }

  /** Outputs not yet acknowledged, across batches. */
  get pendingOutputs(): number {
    let sum = 0
    for (const batch of this.inFlight) sum += batch.ack.pending
    return sum
  }
}
