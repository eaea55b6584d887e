#!/usr/bin/env node
// Adds consumeFlat to node-rdkafka's binding (consume-flat.patch, next to this file) and rebuilds
// the binding; connectors/kafka/consume-batch.ts uses it, and falls back to node-rdkafka's own
// consume when it is missing. Runs after `npm install` (package.json postinstall), also when
// kubestream is installed as a package; does nothing when the built binding already has it.
// Only node-rdkafka's C++ changes, by adding code: its JavaScript API stays as it was.
import { applyPatch, parsePatch, reversePatch } from 'diff'
import { spawnSync } from 'node:child_process'
import console from 'node:console'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'

/** The node-rdkafka release the patch was made against (package.json pins it). */
const VERSION = '3.6.1'
const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

/** node-rdkafka's folder, wherever npm put it; undefined when it is not installed. */
function rdkafkaFolder() {
  try {
    return dirname(require.resolve('node-rdkafka/package.json'))
  } catch {
    return undefined
  }
}

/** Whether the built binding has consumeFlat: loaded in a child, as this process may rebuild it. */
function hasConsumeFlat(binding) {
  const consumer = `require(${JSON.stringify(binding)}).KafkaConsumer`
  const probe = `process.exit(typeof ${consumer}.prototype.consumeFlat === 'function' ? 0 : 1)`
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0
}

/** Applies each file's part of the patch, skipping a file that already has it. */
function patch(folder) {
  for (const part of parsePatch(readFileSync(join(here, 'consume-flat.patch'), 'utf8'))) {
    const file = join(folder, part.newFileName.replace(/^b\//, ''))
    const source = readFileSync(file, 'utf8')
    const patched = applyPatch(source, part)
    if (patched !== false) writeFileSync(file, patched)
    else if (applyPatch(source, reversePatch(part)) === false)
      throw new Error(`consume-flat.patch does not apply to ${file}`)
  }
}

/** node-gyp as npm runs it for install scripts, else the one npm carries. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp
  return join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')
}

/** Recompiles what the patch changed; the librdkafka node-rdkafka's install built is reused. */
function rebuild(folder) {
  const built = spawnSync(process.execPath, [nodeGyp(), 'build'], { cwd: folder, stdio: 'inherit' })
  if (built.status !== 0)
    throw new Error(`node-gyp build of node-rdkafka failed (exit ${built.status ?? built.signal})`)
}

const folder = rdkafkaFolder()
const binding = folder && join(folder, 'build/Release/node-librdkafka.node')
if (!folder || !existsSync(binding)) {
  // Installed with --ignore-scripts (node-rdkafka is not built either): nothing to patch.
  process.exit(0)
}
if (hasConsumeFlat(binding)) process.exit(0)
const { version } = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'))
if (version.replace(/^v/, '') !== VERSION) {
  console.warn(`kubestream: consume-flat.patch is for node-rdkafka ${VERSION}, not ${version}; consuming without it`)
  process.exit(0)
}
console.log("kubestream: adding consumeFlat to node-rdkafka's binding (consume-flat.patch)")
patch(folder)
rebuild(folder)
if (!hasConsumeFlat(binding)) throw new Error('node-rdkafka was rebuilt, but its binding still lacks consumeFlat')
