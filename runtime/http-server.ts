import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import { consoleAsset } from './console/console-assets.js'
import type { ConsoleStatus } from './console/console-status.js'
import type { TopologyLayout } from './console/topology-layout.js'
import { FORWARDED_HEADER, type QueryService } from './queries/query-service.js'
import { StreamState } from './stream-state.js'

export interface HttpServerOptions {
  port: number
  /** The address to bind: 0.0.0.0 for every interface, 127.0.0.1 for this host only. */
  host: string
  /**
   * When set, every path but /healthz and /readyz (which the kubelet probes without
   * credentials) answers 401 unless the request carries `Authorization: Bearer <token>`.
   */
  token?: string
}

/** The kubelet's probes: never behind the token. */
const PROBES = new Set(['/healthz', '/readyz'])

/**
 * The replica's control plane: /metrics (Prometheus), /healthz (the process is not broken),
 * /readyz (consuming, every task's state restored), /stores (interactive queries, see
 * QueryService), and the live topology page at / (its data at /api/topology and /api/status).
 * Kubernetes probes and Prometheus scrape it.
 */
export function startHttpServer(
  options: HttpServerOptions,
  stream: {
    state: StreamState
    ready: boolean
    metrics: Registry
    queries?: QueryService
    /** The topology page's data: the laid-out graph, and a snapshot of the figures. */
    console?: { topology(): TopologyLayout; status(): ConsoleStatus }
  },
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    const text = (status: number, body: string, type = 'text/plain', headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': type, ...headers })
      response.end(body)
    }
    const json = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) =>
      text(status, `${JSON.stringify(body)}\n`, 'application/json', { ...headers })
    const asset = stream.console ? consoleAsset(path) : undefined
    if (options.token !== undefined && !PROBES.has(path) && !authorized(request, options.token)) {
      text(401, 'a bearer token is required\n', 'text/plain', { 'www-authenticate': 'Bearer realm="kubestream"' })
    } else if (path === '/metrics') {
      stream.metrics.metrics().then(
        (body) => text(200, body, stream.metrics.contentType),
        (error: Error) => text(500, error.message),
      )
    } else if (path === '/healthz') {
      const healthy = stream.state !== StreamState.ERROR
      text(healthy ? 200 : 503, `${stream.state}\n`)
    } else if (path === '/readyz') {
      text(stream.ready ? 200 : 503, `${stream.ready ? stream.state : `${stream.state} (restoring state)`}\n`)
    } else if (asset) {
      response.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' })
      response.end(asset.body)
    } else if (path === '/api/topology' && stream.console) {
      json(200, stream.console.topology())
    } else if (path === '/api/status' && stream.console) {
      json(200, stream.console.status())
    } else if (path === '/stores' || path.startsWith('/stores/')) {
      if (!stream.queries) {
        json(404, { error: 'this replica answers no queries: its topology has no stores, or it advertises no URL' })
        return
      }
      const params = new URL(request.url ?? '/', 'http://localhost').searchParams
      const forwardedBy = request.headers[FORWARDED_HEADER]
      stream.queries.answer(path, params, typeof forwardedBy === 'string' ? forwardedBy : undefined).then(
        (answer) => json(answer.status, answer.body, answer.headers),
        (error: Error) => json(500, { error: error.message }),
      )
    } else {
      text(404, 'not found\n')
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve(server))
  })
}

/** Compares in constant time, so response timing tells nothing about the token. */
function authorized(request: IncomingMessage, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
  if (!match) return false
  const given = Buffer.from(match[1])
  const expected = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
