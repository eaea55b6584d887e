import { writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'

/** One request the fake apiserver received: its path and query. */
export interface FakeRequest {
  readonly path: string
  readonly query: URLSearchParams
}

/** What the fake does with a request; `res` may be held open (a watch) or broken off. */
export type FakeHandler = (req: FakeRequest, res: ServerResponse, raw: IncomingMessage) => void

/**
 * A small stand-in for the Kubernetes API, for the faults a real apiserver cannot be made to
 * produce on demand: a 410 inside a watch stream, a connection dropped mid-line, a stalled
 * stream. Plain HTTP on loopback; every request is recorded.
 */
export class FakeKubeApi {
  readonly requests: FakeRequest[] = []
  private server: Server | undefined
  private readonly open = new Set<ServerResponse>()
  url = ''

  constructor(private readonly handle: FakeHandler) {}

  async start(): Promise<void> {
    this.server = createServer((raw, res) => {
      const url = new URL(raw.url!, 'http://fake')
      const req = { path: url.pathname, query: url.searchParams }
      this.requests.push(req)
      this.open.add(res)
      res.once('close', () => this.open.delete(res))
      this.handle(req, res, raw)
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const address = this.server.address()
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  }

  /** A kubeconfig for it, written into `dir`. */
  kubeconfig(dir: string): string {
    const file = join(dir, 'fake-kubeconfig')
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'fake',
        // client-node takes plain http only with this set (as for `kubectl proxy`).
        clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake', user: { token: 'fake-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      }),
    )
    return file
  }

  /** Watch requests so far, in order. */
  get watches(): FakeRequest[] {
    return this.requests.filter((r) => r.query.get('watch') === '1')
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }
}

/** An object as the API would list it. */
export function kubeObject(uid: string, resourceVersion: string, extra: Record<string, unknown> = {}) {
  return { metadata: { uid, name: `obj-${uid}`, namespace: 'shop', resourceVersion }, ...extra }
}

export function sendList(res: ServerResponse, items: unknown[], resourceVersion: string): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion }, items }))
}

/** Starts a watch answer (chunked); lines are written with `watchLine`. */
export function startWatch(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
  res.flushHeaders()
}

export function watchLine(res: ServerResponse, type: string, object: unknown): void {
  res.write(JSON.stringify({ type, object }) + '\n')
}
