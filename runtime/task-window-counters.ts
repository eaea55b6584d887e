import type { WindowCounters } from '../operators/windowed-aggregate.js'

/**
 * One task's window counters (Kafka Streams' task-level dropped-records), each change also
 * made to the replica's, whose total does not drop when the task moves away.
 */
export class TaskWindowCounters implements WindowCounters {
  private late = 0

  constructor(private readonly replica: WindowCounters) {}

  get lateRecords(): number {
    return this.late
  }

  set lateRecords(value: number) {
    this.replica.lateRecords += value - this.late
    this.late = value
  }
}
