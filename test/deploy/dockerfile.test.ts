import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

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

describe('deploy/Dockerfile', () => {
  it('copies every folder the CLI runs from', () => {
    const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8')
    const copied = new Set([...dockerfile.matchAll(/^COPY (\S+) \.\/\S*$/gm)].map(([, path]) => path))
    const needed = new Set([...reachable('cli/main.ts')].map((file) => file.split('/')[0]))
    expect(needed).toContain('runtime')
    for (const folder of needed) expect(copied, `COPY ${folder}`).toContain(folder)
  })
})
