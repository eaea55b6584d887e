import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The topology page's files, by the path they are served at, with their content types. */
const ASSETS: Readonly<Record<string, readonly [file: string, type: string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/console/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/console/style.css': ['style.css', 'text/css; charset=utf-8'],
}

const cache = new Map<string, { type: string; body: Buffer }>()

/** A file of the topology page, read once; undefined for any other path. */
export function consoleAsset(path: string): { type: string; body: Buffer } | undefined {
  const asset = ASSETS[path]
  if (!asset) return undefined
  let found = cache.get(path)
  if (!found) cache.set(path, (found = { type: asset[1], body: readFileSync(join(consoleDir(), asset[0])) }))
  return found
}

/**
 * `console/` of the package: two folders up from `dist/runtime/console/` when compiled, one
 * more than from the sources, so it is looked for from here upwards.
 */
function consoleDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'console', 'index.html'))) return join(dir, 'console')
  }
  throw new Error('the topology page files (console/) are not in this installation')
}
