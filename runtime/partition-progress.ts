/**
 * The at-least-once position of one input partition: the offset after the last record
 * processed, and the last one committed. Processed is not yet delivered: the commit loop
 * flushes the producer before it takes the committable offset (see commit.ts), so a
 * crash can only repeat records, never skip one.
 */
export class PartitionProgress {
  private next = -1
  private committed = -1

  /** The offset after the last record processed; -1 before the first. */
  get nextOffset(): number {
    return this.next
  }

  /** A batch ending at `lastOffset` has been processed: all its outputs are sent. */
  processedThrough(lastOffset: number): void {
    if (lastOffset >= this.next) this.next = lastOffset + 1
  }

  /** A commit failed: offer the position again even if nothing more is processed. */
  commitAgain(): void {
    this.committed = -1
  }

  /** The next offset to commit, or undefined when nothing was processed since the last commit. */
  takeCommittable(): number | undefined {
    if (this.next <= this.committed) return undefined
    this.committed = this.next
    return this.next
  }
}
