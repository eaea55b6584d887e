import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
let work: string
let files: string[]
let tarball: string

// npm pack runs the build (prepare) and lists what a user would install.
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kubestream-pack-'))
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>
  files = packed.files.map((file) => file.path)
  tarball = join(work, packed.filename)
}, 180_000)
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('the npm package', () => {
  it('ships the compiled engine, its declarations and the examples, and no TypeScript source', () => {
    for (const file of ['bin/kubestream.js', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts'])
      expect(files).toContain(file)
    expect(files).toContain('examples/warning-counts.yaml')
    // The topology page's own files, served by the replica.
    for (const file of ['console/index.html', 'console/app.js', 'console/style.css']) expect(files).toContain(file)
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([])
    expect(files.filter((file) => /^(test|bench|simulators|deploy|scratch)\//.test(file))).toEqual([])
  })

  it('installs in an empty directory and validates an example with the compiled CLI', () => {
    const app = join(work, 'app')
    execFileSync('mkdir', ['-p', app])
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kubestream-user', private: true }))
    // No install scripts: validate needs neither librdkafka nor LMDB, and building librdkafka takes minutes.
    execFileSync('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      stdio: 'pipe',
    })
    const out = execFileSync(
      join(app, 'node_modules/.bin/kubestream'),
      ['validate', join(app, 'node_modules/kubestream/examples/warning-counts.yaml')],
      { cwd: app, encoding: 'utf8' },
    )
    expect(out).toMatch(/valid topology "warning-counts" \(1 sources, 4 steps, 1 sinks\)/)
    // A Kafka config file (as the Helm chart mounts one) is checked with the topology, at its own line.
    const kafkaConfig = join(app, 'kafka.yaml')
    writeFileSync(kafkaConfig, 'bootstrapServers: b:9093\nsecurity:\n  sasl: { mechanism: GSSAPI }\n')
    const refused = spawnSync(
      join(app, 'node_modules/.bin/kubestream'),
      ['validate', join(app, 'node_modules/kubestream/examples/warning-counts.yaml'), '--kafka-config', kafkaConfig],
      { cwd: app, encoding: 'utf8' },
    )
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain(`${kafkaConfig}:3:22: spec.kafka.security.sasl.mechanism must be one of`)
  }, 300_000)
})
