import { readFileSync } from 'node:fs'

/** What each contender prints as its last stdout line, and how the harness words it. */
export interface ContenderResult {
  name: string
  records: number
  /** Input bytes (values) drained. */
  bytes: number
  /** From the first record consumed to the last output acknowledged. */
  elapsedMs: number
  cpuSeconds: number
  peakRssMb: number
  /** Set when the contender was stopped at the time cap before draining everything. */
  partial?: boolean
}

/** Called by a contender at the end: prints its result as one JSON line. */
export function reportResult(result: Omit<ContenderResult, 'cpuSeconds' | 'peakRssMb'>): void {
  const cpu = process.cpuUsage()
  const full: ContenderResult = {
    ...result,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: peakRssKb() / 1024,
  }
  process.stdout.write(`RESULT ${JSON.stringify(full)}\n`)
}

/**
 * This process's own high-water RSS. getrusage's maxRSS is no good here: Linux carries the
 * parent's peak across fork and exec, so every contender reported the harness's ~440 MB.
 * VmHWM belongs to the address space exec created.
 */
function peakRssKb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (match) return Number(match[1])
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS
}

export function recordsPerSecond(r: ContenderResult): number {
  return r.records / (r.elapsedMs / 1000)
}

export function megabytesPerSecond(r: ContenderResult): number {
  return r.bytes / 1024 / 1024 / (r.elapsedMs / 1000)
}

export interface BenchEnv {
  brokers: string
  sourceTopic: string
  records: number
  outputPrefix: string
  groupId: string
  maxSeconds: number
}

/** Contenders read their settings from the environment the harness sets. */
export function benchEnv(): BenchEnv {
  const need = (name: string) => {
    const value = process.env[name]
    if (!value) throw new Error(`${name} is not set; run the benchmark with npm run bench:fanout`)
    return value
  }
  return {
    brokers: need('KAFKA_BROKERS'),
    sourceTopic: need('BENCH_SOURCE_TOPIC'),
    records: Number(need('BENCH_RECORDS')),
    outputPrefix: need('BENCH_OUTPUT_PREFIX'),
    groupId: need('BENCH_GROUP_ID'),
    maxSeconds: Number(process.env.BENCH_MAX_SECONDS ?? 600),
  }
}
