import { rmSync } from 'node:fs'
import { createServer, type Server, type ServerResponse } from 'node:http'

/**
 * A stand-in for a node's network tracer: serves `GET /connections` over HTTP on a unix socket,
 * answering with whatever `answer()` gives at that moment. Tests drive it document by document;
 * the demo and the benchmark put a simulated node behind it. It can be taken down, answer
 * slowly or answer garbage, which a real tracer does on its bad days.
 */
export class TracerSimulatorServer {
  /** Answers sent, garbage and slow ones included: tests wait on it to know a document went out. */
  served = 0
  private server: Server | undefined
  private delayNextMs = 0
  private garbageNext = false

  constructor(
    readonly socket: string,
    private readonly answer: () => string,
  ) {}

  async start(): Promise<void> {
    rmSync(this.socket, { force: true })
    const server = createServer((req, res) => this.handle(req.url ?? '', res))
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.socket, resolve))
    this.server = server
  }

  /** The tracer goes away: the socket is gone until start() again. */
  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    rmSync(this.socket, { force: true })
  }

  /** The next request waits this long before its answer starts. */
  answerNextSlowly(delayMs: number): void {
    this.delayNextMs = delayMs
  }

  /** The next answer is not JSON. */
  answerNextWithGarbage(): void {
    this.garbageNext = true
  }

  private handle(url: string, res: ServerResponse): void {
    if (url !== '/connections') {
      res.writeHead(404).end()
      return
    }
    const delay = this.delayNextMs
    this.delayNextMs = 0
    setTimeout(() => {
      if (res.destroyed) return
      if (this.garbageNext) {
        this.garbageNext = false
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>tracer restarting</html>')
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(this.answer())
      }
      this.served++
    }, delay)
  }
}
