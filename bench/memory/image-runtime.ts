/**
 * How deploy/Dockerfile runs the CLI — the node flags of its ENTRYPOINT and its ENV — read from
 * the Dockerfile itself, so bench:memory measures the process a pod runs and cannot drift from it.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const DOCKERFILE = fileURLToPath(new URL('../../deploy/Dockerfile', import.meta.url))

export interface ImageRuntime {
  /** What the ENTRYPOINT passes to node before the CLI's path. */
  readonly nodeFlags: string[]
  /** The runtime stage's ENV. */
  readonly env: Record<string, string>
}

export function imageRuntime(dockerfile = readFileSync(DOCKERFILE, 'utf8')): ImageRuntime {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(runtime)
  if (!entrypoint) throw new Error('deploy/Dockerfile has no ENTRYPOINT in exec form')
  const [node, ...args] = JSON.parse(entrypoint[1]) as string[]
  const cli = args.findIndex((arg) => arg.endsWith('/kubestream.js'))
  if (node !== 'node' || cli < 0)
    throw new Error(`deploy/Dockerfile's ENTRYPOINT does not run node on the CLI: ${entrypoint[1]}`)
  const env = Object.fromEntries(
    [...runtime.matchAll(/^ENV (\w+)=(\S+)$/gm)].map(([, name, value]) => [name, value] as const),
  )
  return { nodeFlags: args.slice(0, cli), env }
}
