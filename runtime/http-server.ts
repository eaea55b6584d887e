import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import { StreamState } from './stream-state.js'

/**
 * The replica's control plane: /metrics (Prometheus), /healthz (the process is not broken),
 * /readyz (consuming, every task's state restored). Kubernetes probes and Prometheus scrape it.
 */
export function startHttpServer(
  port: number,
  host: string,
  stream: { state: StreamState; ready: boolean; metrics: Registry },
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    const text = (status: number, body: string, type = 'text/plain') => {
      response.writeHead(status, { 'content-type': type })
      response.end(body)
    }
    if (path === '/metrics') {
      stream.metrics.metrics().then(
        (body) => text(200, body, stream.metrics.contentType),
        (error: Error) => text(500, error.message),
      )
    } else if (path === '/healthz') {
      const healthy = stream.state !== StreamState.ERROR
      text(healthy ? 200 : 503, `${stream.state}\n`)
    } else if (path === '/readyz') {
      text(stream.ready ? 200 : 503, `${stream.ready ? stream.state : `${stream.state} (restoring state)`}\n`)
    } else {
      text(404, 'not found\n')
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
