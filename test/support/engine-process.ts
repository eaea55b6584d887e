import { type ChildProcess, spawn } from 'node:child_process'

export interface EngineProcess {
  child: ChildProcess
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** `kubestream run FILE` as its own process, as an operator would start it. */
export function startEngine(file: string, env: Record<string, string>): EngineProcess {
  const child = spawn(process.execPath, ['bin/kubestream.js', 'run', file], {
    env: { ...process.env, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const chunks: string[] = []
  child.stdout?.on('data', (c: Buffer) => chunks.push(c.toString()))
  child.stderr?.on('data', (c: Buffer) => chunks.push(c.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, output: () => chunks.join(''), exited }
}

/** Awaits `promise`, failing with `what` if it takes longer than `timeoutMs`: a hang names its step. */
export async function within<T>(what: string, timeoutMs: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls until `check` is true. A check that throws (a topic still being created) counts as not yet. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 90_000,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (error) {
      lastError = error
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  const last = lastError instanceof Error ? lastError.message : JSON.stringify(lastError)
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${last})` : ''}`)
}
