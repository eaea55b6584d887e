import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { startHttpServer } from '../../runtime/http-server.js'
import { StreamState } from '../../runtime/stream-state.js'

const TOKEN = 's3cret-token_with.chars'
let server: Server | undefined

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

async function serve(token?: string): Promise<string> {
  const metrics = new Registry()
  new Counter({ name: 'kubestream_test_total', help: 'a test counter', registers: [metrics] }).inc(3)
  server = await startHttpServer(
    { port: 0, host: '127.0.0.1', token },
    { state: StreamState.RUNNING, ready: true, metrics },
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const get = (url: string, authorization?: string) =>
  fetch(url, { headers: authorization ? { authorization } : {} }).then(async (r) => ({
    status: r.status,
    body: await r.text(),
    challenge: r.headers.get('www-authenticate'),
  }))

describe('the HTTP endpoints', () => {
  it('bind the address asked for', async () => {
    await serve()
    expect((server!.address() as AddressInfo).address).toBe('127.0.0.1')
  })

  it('serve /metrics openly without a token', async () => {
    const url = await serve()
    const metrics = await get(`${url}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.body).toContain('kubestream_test_total 3')
  })

  it('with a token: /metrics needs it, the probes do not', async () => {
    const url = await serve(TOKEN)
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN]) {
      const refused = await get(`${url}/metrics`, authorization)
      expect(refused.status, String(authorization)).toBe(401)
      expect(refused.challenge).toMatch(/^Bearer/)
      expect(refused.body).not.toContain('kubestream_test_total')
    }
    expect((await get(`${url}/metrics`, `Bearer ${TOKEN}`)).body).toContain('kubestream_test_total 3')
    expect((await get(`${url}/metrics`, `bearer ${TOKEN}`)).status).toBe(200)
    expect((await get(`${url}/nothing-here`)).status).toBe(401)
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: 'RUNNING\n' })
    expect(await get(`${url}/readyz`)).toMatchObject({ status: 200, body: 'RUNNING\n' })
  })

  it('say in JSON when this replica answers no queries, and keep /stores behind the token', async () => {
    const url = await serve(TOKEN)
    expect((await get(`${url}/stores/counts/value?key=a`)).status).toBe(401)
    const answer = await get(`${url}/stores/counts/value?key=a`, `Bearer ${TOKEN}`)
    expect(answer.status).toBe(404)
    expect(JSON.parse(answer.body)).toEqual({
      error: 'this replica answers no queries: its topology has no stores, or it advertises no URL',
    })
  })
})
