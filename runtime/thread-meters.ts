import { WindowedStats } from '../core/windowed-stats.js'

/**
 * What the stream thread measures of itself for Kafka Streams' stream-thread metrics: records
 * processed, polls (and records per poll), commits and how long each took. Recorded once per
 * batch or commit, never per record.
 */
export class ThreadMeters {
  readonly process = new WindowedStats()
  readonly poll = new WindowedStats()
  /** Milliseconds per commit. */
  readonly commit = new WindowedStats()
  processTotal = 0
  pollTotal = 0
  commitTotal = 0

  polled(records: number): void {
    this.pollTotal++
    this.poll.record(records)
  }

  processed(records: number): void {
    if (records === 0) return
    this.processTotal += records
    this.process.record(records)
  }

  committed(ms: number): void {
    this.commitTotal++
    this.commit.record(ms)
  }
}
