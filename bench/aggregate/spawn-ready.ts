/**
 * Process start as a pod sees it: spawns the compiled CLI (`bin/kubestream.js run`) on a
 * topology file and state dir, and times spawn → the first 200 from /readyz; then stops it
 * with SIGTERM and waits for its exit.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../deploy/local/local-process.js'

const CLI = fileURLToPath(new URL('../../bin/kubestream.js', import.meta.url))
const POLL_MS = 5

export async function spawnToReady(topologyFile: string, stateDir: string, timeoutMs = 60_000): Promise<number> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(
    process.execPath,
    [CLI, 'run', topologyFile, '--http-port', String(port), '--http-host', '127.0.0.1'],
    {
      env: { ...process.env, KUBESTREAM_STATE_DIR: stateDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`kubestream exited ${child.exitCode} before it was ready`)
      if (performance.now() - started > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms`)
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (response) => response.status === 200,
        () => false,
      )
      if (ready) return performance.now() - started
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
  } finally {
    child.kill('SIGTERM')
    await exited
  }
}
