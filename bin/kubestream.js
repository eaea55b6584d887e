#!/usr/bin/env node
// Runs the compiled CLI (`npm run build` writes dist/; `npm install` in a checkout builds it).
import console from 'node:console'
import { existsSync } from 'node:fs'
import process from 'node:process'
import { URL } from 'node:url'

const main = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  console.error('kubestream is not built: run `npm run build` (dist/cli/main.js is missing)')
  process.exit(1)
}
await import(main.href)
