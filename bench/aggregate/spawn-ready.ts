/**
 * Process start as a pod sees it: spawns the compiled CLI (`bin/kubestream.js run`) on a
 * topology file and state dir, and times spawn → the first 200 from /readyz; then stops it
 * with SIGTERM and waits for its exit.
 */
import { startCli } from '../memory/cli-process.js'

export async function spawnToReady(topologyFile: string, stateDir: string, timeoutMs = 60_000): Promise<number> {
  const cli = await startCli(topologyFile, { KUBESTREAM_STATE_DIR: stateDir }, [], timeoutMs)
  await cli.stop()
  return cli.readyMs
}
