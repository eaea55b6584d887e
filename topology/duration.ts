import type { Duration } from './spec.js'

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** `1m` → 60000; a number is already milliseconds. The schema has checked the shape. */
export function durationMs(duration: Duration): number {
  if (typeof duration === 'number') return duration
  const match = /^([0-9]+)(ms|s|m|h|d)$/.exec(duration)
  if (!match) throw new Error(`"${duration}" is not a duration`)
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}

/** 60000 → `1m`: the largest unit that divides it, for describe and messages. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  }
  return `${ms}ms`
}
