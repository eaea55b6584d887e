import type { Server } from 'node:http'
import { startHttpServer } from '../../runtime/http-server.js'
import type { KubeStream } from '../../runtime/kube-stream.js'

/** Where a demo serves the topology page of its n-th topology: DEMO_HTTP_PORT (8080), then the next ports. */
export function demoPort(n: number): number {
  return Number(process.env.DEMO_HTTP_PORT ?? 8080) + n
}

/** The URL a demo topology's page and queries are served at (its replica's advertised URL). */
export function demoUrl(n: number): string {
  return `http://127.0.0.1:${demoPort(n)}`
}

/** Serves a running topology's page (and /metrics, /stores) on loopback. */
export function serveTopologyPage(stream: KubeStream, n: number): Promise<Server> {
  return startHttpServer({ port: demoPort(n), host: '127.0.0.1' }, stream)
}

/**
 * One status line that rewrites itself on a terminal; elsewhere (a log file, CI) a plain line
 * every tenth update, so the output stays readable either way.
 */
export function statusLine(): { show(text: string): void; end(): void } {
  let updates = 0
  const tty = process.stdout.isTTY === true
  return {
    show(text) {
      if (tty) process.stdout.write(`\r\u001b[2K${text.slice(0, (process.stdout.columns || 120) - 1)}`)
      else if (updates % 10 === 0) console.log(text)
      updates++
    },
    end() {
      if (tty) process.stdout.write('\n')
    },
  }
}
