/**
 * What every benchmark shares: each contender runs in its own process (so its CPU, RSS and GC
 * are its own) and prints its result as a `RESULT {json}` line (bench/fanout/report.ts).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type ContenderResult, megabytesPerSecond, recordsPerSecond } from './fanout/report.js'

/**
 * Runs a contender script with tsx and the given environment; resolves with its RESULT line.
 * `launcher` goes before the command (e.g. a shell that first joins a memory cgroup).
 */
export function runContender(
  file: string,
  env: Record<string, string>,
  onOutput?: (text: string) => void,
  launcher: string[] = [],
): Promise<ContenderResult> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = [...launcher, process.execPath, '--import', 'tsx', file]
    const child = spawn(command, args, {
      env: { ...process.env, ...env, KAFKAJS_NO_PARTITIONER_WARNING: '1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      onOutput?.(chunk.toString())
    })
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '))
      if (code !== 0 || !line) return reject(new Error(`${file} exited ${code}:\n${out.slice(-2000)}`))
      resolve(JSON.parse(line.slice('RESULT '.length)) as ContenderResult)
    })
  })
}

export function format(r: ContenderResult): string {
  return (
    `${Math.round(recordsPerSecond(r)).toLocaleString('en')} records/s, ${megabytesPerSecond(r).toFixed(1)} MB/s, ` +
    `${r.cpuSeconds.toFixed(1)} CPU s, ${r.peakRssMb.toFixed(0)} MB peak ` +
    `RSS${r.partial ? ` (stopped at the time cap after ${r.records} records)` : ''}`
  )
}

/** Progress on long work (pre-loading, restoring): a line every `every` items, overwritten in place on a terminal. */
export function progress(
  label: string,
  total: number,
  every = Math.max(1, Math.floor(total / 20)),
): (done: number) => void {
  const started = performance.now()
  return (done) => {
    if (done % every !== 0 && done !== total) return
    const text =
      `${label}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} ` +
      `(${Math.round((done / total) * 100)}%, ${((performance.now() - started) / 1000).toFixed(1)} s)`
    if (process.stdout.isTTY) process.stdout.write(`\r${text}${done === total ? '\n' : ''}`)
    else console.log(text)
  }
}

/** Writes a run's summary and its markdown to bench/results/<kind>-<date>.{json,md} and prints the markdown. */
export function saveResults(kind: string, summary: { date: string }, markdown: string): void {
  const dir = fileURLToPath(new URL('./results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const stamp = summary.date.replace(/[:.]/g, '-')
  writeFileSync(`${dir}${kind}-${stamp}.json`, JSON.stringify(summary, null, 2))
  writeFileSync(`${dir}${kind}-${stamp}.md`, markdown)
  console.log(`\n${markdown}`)
  console.log(`written to bench/results/${kind}-${stamp}.{json,md}`)
}
