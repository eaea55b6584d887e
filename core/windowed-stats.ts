/** Kafka Streams' metrics window: two samples of 30 s, so a rate or an average covers 30–60 s. */
const SAMPLE_MS = 30_000

interface Sample {
  start: number
  count: number
  sum: number
  min: number
  max: number
}

/**
 * Values recorded over the last one or two samples (Kafka Streams' SampledStat): their count,
 * sum, min and max, for a metric's `-rate`, `-avg`, `-min` and `-max`. Recording is two
 * comparisons and two additions: cheap enough for once per record.
 */
export class WindowedStats {
  private previous: Sample
  private current: Sample

  constructor(now = Date.now()) {
    this.previous = emptySample(now - SAMPLE_MS)
    this.current = emptySample(now)
  }

  record(value: number, now = Date.now()): void {
    if (now - this.current.start >= SAMPLE_MS) this.roll(now)
    const sample = this.current
    sample.count++
    sample.sum += value
    if (value < sample.min) sample.min = value
    if (value > sample.max) sample.max = value
  }

  /** Per second over the window: of the recorded values' sum (record(n) per batch of n), or of their count. */
  rate(of: 'sum' | 'count' = 'sum', now = Date.now()): number {
    if (now - this.current.start >= SAMPLE_MS) this.roll(now)
    const seconds = Math.max(1, now - this.previous.start) / 1000
    return (this.previous[of] + this.current[of]) / seconds
  }

  /** Average, minimum and maximum of the values in the window; NaN when none was recorded. */
  stats(now = Date.now()): { avg: number; min: number; max: number } {
    if (now - this.current.start >= SAMPLE_MS) this.roll(now)
    const count = this.previous.count + this.current.count
    if (count === 0) return { avg: NaN, min: NaN, max: NaN }
    return {
      avg: (this.previous.sum + this.current.sum) / count,
      min: Math.min(this.previous.min, this.current.min),
      max: Math.max(this.previous.max, this.current.max),
    }
  }

  private roll(now: number): void {
    const stale = now - this.current.start >= 2 * SAMPLE_MS
    this.previous = stale ? emptySample(now - SAMPLE_MS) : this.current
    this.current = emptySample(stale ? now : this.current.start + SAMPLE_MS)
  }
}

function emptySample(start: number): Sample {
  return { start, count: 0, sum: 0, min: Infinity, max: -Infinity }
}
