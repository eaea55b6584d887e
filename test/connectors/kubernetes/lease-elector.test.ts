import { mkdtempSync, rmSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, afterEach, expect, it } from 'vitest'
import { KubeClient } from '../../../connectors/kubernetes/kube-client.js'
import { LeaseElector } from '../../../connectors/kubernetes/lease-elector.js'
import { waitFor } from '../../support/engine-process.js'
import { type FakeRequest, FakeKubeApi } from '../../support/fake-kube-api.js'

const dir = mkdtempSync(join(tmpdir(), 'kubestream-lease-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/

interface LeaseBody {
  metadata: { name: string; namespace: string; resourceVersion?: string }
  spec: { holderIdentity?: string | null; renewTime?: string | null; acquireTime?: string | null }
}

/**
 * One Lease kept as the apiserver keeps it: MicroTime fields are checked as it checks them (a
 * millisecond time is a 400), and `refuse` makes the next writes answer with that status.
 */
async function leaseServer() {
  let lease: LeaseBody | undefined
  let version = 1
  const writes: LeaseBody[] = []
  const state = { refuse: undefined as number | undefined }
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const handle = (_req: FakeRequest, res: ServerResponse, raw: IncomingMessage) => {
    let text = ''
    raw.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
    raw.once('end', () => {
      if (raw.method === 'GET') return lease ? answer(res, 200, lease) : answer(res, 404, { message: 'not found' })
      const body = JSON.parse(text) as LeaseBody
      writes.push(body)
      if (state.refuse) return answer(res, state.refuse, { kind: 'Status', message: 'refused by the test' })
      for (const field of ['renewTime', 'acquireTime'] as const) {
        const time = body.spec[field]
        if (time && !MICRO_TIME.test(time))
          return answer(res, 400, { kind: 'Status', message: `spec.${field}: cannot parse "${time}" as MicroTime` })
      }
      lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } }
      answer(res, raw.method === 'POST' ? 201 : 200, lease)
    })
  }
  const api = new FakeKubeApi(handle)
  await api.start()
  cleanups.push(() => api.stop())
  return { client: KubeClient.load(api.kubeconfig(dir)), writes, state, lease: () => lease }
}

/** A logger whose lines the test can read. */
function capturedLog() {
  const lines: Array<{ level: number; msg: string; status?: number; err?: string }> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number])
      done()
    },
  })
  return { log: pino({ level: 'debug' }, stream), lines }
}

async function leader(server: Awaited<ReturnType<typeof leaseServer>>, log: ReturnType<typeof capturedLog>['log']) {
  const elector = new LeaseElector(
    server.client,
    { namespace: 'kubestream', name: 'events', durationMs: 3_000 },
    'a',
    log,
  )
  cleanups.push(() => elector.stop())
  let leading = false
  elector.run(
    () => (leading = true),
    () => (leading = false),
  )
  await waitFor('leadership', () => leading, 5_000, 10)
  return elector
}

it('writes every lease time as MicroTime, and frees the lease on release', async () => {
  const server = await leaseServer()
  const { log, lines } = capturedLog()
  const elector = await leader(server, log)
  await elector.release()
  expect(server.writes.length).toBeGreaterThanOrEqual(2)
  for (const write of server.writes) expect(write.spec.renewTime).toMatch(MICRO_TIME)
  expect(server.lease()!.spec.holderIdentity).toBeNull()
  expect(lines.map((line) => line.msg)).toContain('released the lease')
})

it('logs a release the apiserver refuses, with its status and reason', async () => {
  const server = await leaseServer()
  const { log, lines } = capturedLog()
  const elector = await leader(server, log)
  server.state.refuse = 422
  await elector.release()
  const refused = lines.find((line) => line.msg.startsWith('the apiserver refused to release the lease'))
  expect(refused).toMatchObject({ level: 40, status: 422, err: 'refused by the test' })
  expect(server.lease()!.spec.holderIdentity).toBe('a')
})

it('logs a renewal the apiserver refuses, then steps down', async () => {
  const server = await leaseServer()
  const { log, lines } = capturedLog()
  await leader(server, log)
  server.state.refuse = 403
  await waitFor('the refusal logged', () => lines.some((line) => line.msg === 'cannot read or write the lease'), 5_000)
  const refused = lines.find((line) => line.msg === 'cannot read or write the lease')!
  expect(refused.level).toBe(40)
  expect(refused.err).toMatch(/update lease kubestream\/events: HTTP 403: refused by the test/)
  await waitFor('stepping down', () => lines.some((line) => line.msg.includes('stepping down')), 5_000)
})
