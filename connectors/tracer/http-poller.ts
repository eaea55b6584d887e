import { request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { backoffMs } from '../../core/backoff.js'
import { type DocumentReader, readDocument, type TracerDocument, TracerReadError } from './tracer-document.js'

export interface HttpPollerOptions {
  /** The tracer's unix socket. */
  readonly socket: string
  /** The request path; `/connections`. */
  readonly path: string
  readonly intervalMs: number
  /** A tracer slower than this to answer counts as failed. */
  readonly timeoutMs: number
  /** Longest wait between retries while the tracer fails. */
  readonly maxBackoffMs: number
}

/**
 * Asks the tracer for its connections every interval with `GET <path>` over HTTP on its unix
 * socket. A tracer that is down, slow or answers garbage is retried with backoff; the next
 * good answer resumes the interval.
 */
export class HttpPoller implements DocumentReader {
  private readonly stopping = new AbortController()
  private running: Promise<void> | undefined

  constructor(private readonly options: HttpPollerOptions) {}

  get describe(): string {
    return `http+unix://${this.options.socket}${this.options.path}`
  }

  start(onDocument: (document: TracerDocument) => void, onError: (error: TracerReadError) => void): void {
    this.running = this.loop(onDocument, onError)
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    await this.running
  }

  private async loop(
    onDocument: (document: TracerDocument) => void,
    onError: (error: TracerReadError) => void,
  ): Promise<void> {
    const { signal } = this.stopping
    let failures = 0
    while (!signal.aborted) {
      const started = Date.now()
      try {
        const document = readDocument(await this.get(signal), Date.now())
        failures = 0
        onDocument(document)
      } catch (error) {
        if (signal.aborted) break
        failures++
        onError(
          error instanceof TracerReadError
            ? error
            : new TracerReadError('UNREACHABLE', (error as Error).message, { cause: error }),
        )
      }
      const wait =
        failures > 0 ? backoffMs(failures, this.options.maxBackoffMs) : this.options.intervalMs - (Date.now() - started)
      await sleep(Math.max(0, wait), undefined, { signal }).catch(() => undefined)
    }
  }

  private get(signal: AbortSignal): Promise<string> {
    const { socket, path, timeoutMs } = this.options
    return new Promise((resolve, reject) => {
      let timedOut = false
      const fail = (error: Error) => {
        clearTimeout(deadline)
        if (timedOut) reject(new TracerReadError('TIMEOUT', `no complete answer within ${timeoutMs} ms`))
        else
          reject(
            error instanceof TracerReadError
              ? error
              : new TracerReadError('UNREACHABLE', `cannot read ${socket}: ${error.message}`, { cause: error }),
          )
      }
      const req = request(
        { socketPath: socket, path, method: 'GET', headers: { accept: 'application/json' }, signal },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('error', fail)
          res.on('end', () => {
            clearTimeout(deadline)
            if (res.statusCode !== 200)
              reject(new TracerReadError('HTTP_STATUS', `GET ${path} answered ${res.statusCode}`))
            else resolve(Buffer.concat(chunks).toString('utf8'))
          })
        },
      )
      // The whole answer, not just the first byte: a tracer that trickles is as stuck as one that is silent.
      const deadline = setTimeout(() => {
        timedOut = true
        req.destroy()
      }, timeoutMs)
      req.on('error', fail)
      req.end()
    })
  }
}
