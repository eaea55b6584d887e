import { execFile } from 'node:child_process'
import { mkdirSync, renameSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Where built tools are cached, outside the repo: $KUBESTREAM_CACHE_DIR, else ~/.cache/kubestream. */
export function toolCacheDir(): string {
  return process.env.KUBESTREAM_CACHE_DIR ?? join(homedir(), '.cache', 'kubestream')
}

/**
 * Builds a Go main package (through the module proxy) as the wrapper module in `moduleDir`
 * pins it, to a temporary name renamed last: an interrupted build is built again.
 */
export async function goBuild(moduleDir: string, pkg: string, target: string, flags: string[] = []): Promise<void> {
  mkdirSync(dirname(target), { recursive: true })
  const partial = `${target}.partial`
  await run('go', ['build', '-trimpath', ...flags, '-o', partial, pkg], {
    cwd: moduleDir,
    maxBuffer: 64 * 1024 * 1024,
    // CGO off: static binaries, and no C toolchain needed for them.
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
  }).catch((error: Error & { stderr?: string }) => {
    throw new Error(`go build ${pkg} failed: ${error.message}\n${error.stderr ?? ''}`)
  })
  renameSync(partial, target)
}

/** The version a wrapper module's go.mod requires of `module`. */
export function requiredVersion(goMod: string, goModFile: string, module: string): string {
  const found = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/[./]/g, '\\$&')} (v\\S+)`, 'm').exec(goMod)
  if (!found) throw new Error(`${goModFile} does not require ${module}`)
  return found[1]
}
