import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { imageRuntime } from '../../bench/memory/image-runtime.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Every file `entry` reaches through relative imports, as paths from the project root. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(join(root, file), 'utf8')
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      visit(relative(root, resolve(root, dirname(file), specifier.replace(/\.js$/, '.ts'))))
    }
  }
  visit(entry)
  return seen
}

/** The top-level folders (and files) the CLI and the public API are compiled from. */
const needed = new Set([...reachable('cli/main.ts'), ...reachable('index.ts')].map((file) => file.split('/')[0]))

describe('the compiled package', () => {
  it('compiles every folder the CLI and the API reach', () => {
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''))
    expect(needed).toContain('runtime')
    for (const folder of needed) expect(build.include, folder).toContain(folder)
  })

  it('deploy/Dockerfile compiles the same sources and runs the compiled CLI as a non-root user', () => {
    const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8')
    const copied = new Set([...dockerfile.matchAll(/^COPY (\S+) \.\/\S*$/gm)].map(([, path]) => path))
    for (const folder of needed) expect(copied, `COPY ${folder}`).toContain(folder)
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '))
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m)
    // The topology page's files, which the compiled runtime serves from the package root.
    expect(runtime).toMatch(/^COPY console \.\/console$/m)
    expect(runtime).toMatch(/^USER node$/m)
    expect(runtime).not.toMatch(/tsx/)
  })

  it("deploy/Dockerfile sizes V8's young generation itself, as bench:memory measures it", () => {
    // Under a pod's limit Node would shrink it to 1 MiB semi-spaces, and the restore and the
    // counting lose ~20% to scavenges.
    const { nodeFlags, env } = imageRuntime()
    expect(nodeFlags).toContainEqual(expect.stringMatching(/^--max-semi-space-size=\d+$/))
    expect(env).toHaveProperty('MALLOC_ARENA_MAX')
  })
})
