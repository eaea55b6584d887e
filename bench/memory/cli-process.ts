/**
 * A phase of bench:memory as a pod runs it: the compiled CLI (`bin/kubestream.js run`) on a
 * topology file, started through a launcher (the cgroup's), watched from outside over its HTTP
 * endpoints, and stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../deploy/local/local-process.js'
import { imageRuntime } from './image-runtime.js'

const CLI = fileURLToPath(new URL('../../bin/kubestream.js', import.meta.url))
/** /readyz is polled often, to time a start within a few ms; /metrics seldom, so scraping costs the engine little. */
const READY_POLL_MS = 10
const METRICS_POLL_MS = 100

export interface CliProcess {
  /** Milliseconds from spawn until /readyz answered 200. */
  readyMs: number
  /** Resolves when `counter` (summed over its label sets in /metrics) reaches `target`: ms since spawn. */
  counterReaches(counter: string, target: number, timeoutMs: number): Promise<number>
  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>
}

/** Spawns the CLI and resolves once it is ready (restored, in the group). */
export async function startCli(
  topologyFile: string,
  env: Record<string, string>,
  launcher: string[],
  timeoutMs = 900_000,
): Promise<CliProcess> {
  // As the image (and so the chart) runs it.
  const image = imageRuntime()
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const [command, ...args] = [
    ...launcher,
    process.execPath,
    ...image.nodeFlags,
    CLI,
    'run',
    topologyFile,
    '--http-port',
    String(port),
    '--http-host',
    '127.0.0.1',
  ]
  const started = performance.now()
  const child = spawn(command, args, {
    env: { ...process.env, ...image.env, ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const readyMs = await until(
    child,
    timeoutMs,
    started,
    READY_POLL_MS,
    async () => (await fetch(`${url}/readyz`)).status === 200,
  )
  return {
    readyMs,
    counterReaches: (counter, target, limitMs) =>
      until(
        child,
        limitMs,
        started,
        METRICS_POLL_MS,
        async () => sumOf(await (await fetch(`${url}/metrics`)).text(), counter) >= target,
      ),
    async stop(graceMs = 60_000) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

/** Polls `check` until true: ms since `started`. Throws if the process exits or time runs out. */
async function until(
  child: ChildProcess,
  timeoutMs: number,
  started: number,
  everyMs: number,
  check: () => Promise<boolean>,
): Promise<number> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`kubestream exited (${child.exitCode ?? child.signalCode}) before it got there`)
    if (performance.now() - started > timeoutMs) throw new Error(`not there after ${timeoutMs} ms`)
    if (await check().catch(() => false)) return performance.now() - started
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** A Prometheus counter summed over its label sets. */
function sumOf(metrics: string, counter: string): number {
  let sum = 0
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${counter}{`) || line.startsWith(`${counter} `))
      sum += Number(line.slice(line.lastIndexOf(' ')))
  }
  return sum
}
