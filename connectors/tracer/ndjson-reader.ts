import { open, stat } from 'node:fs/promises'
import { createConnection, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { backoffMs } from '../../core/backoff.js'
import { type DocumentReader, readDocument, type TracerDocument, TracerReadError } from './tracer-document.js'

type Handlers = { onDocument: (document: TracerDocument) => void; onError: (error: TracerReadError) => void }

/**
 * Splits bytes into lines (on bytes, so a chunk may end inside a character); each complete, non-blank line is one
 * /connections document.
 */
class LineSplitter {
  private pending = Buffer.alloc(0)

  constructor(private readonly handlers: Handlers) {}

  /** `endPosition` is where the chunk ends in its file, so each document knows where it ends. */
  push(chunk: Buffer, endPosition?: number): void {
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const start = endPosition === undefined ? undefined : endPosition - bytes.length
    let from = 0
    for (let newline = bytes.indexOf(0x0a); newline !== -1; newline = bytes.indexOf(0x0a, from)) {
      const line = bytes.toString('utf8', from, newline)
      from = newline + 1
      if (line.trim() === '') continue
      try {
        this.handlers.onDocument(readDocument(line, Date.now(), start === undefined ? undefined : start + from))
      } catch (error) {
        this.handlers.onError(error as TracerReadError)
      }
    }
    this.pending = Buffer.from(bytes.subarray(from))
  }

  reset(): void {
    this.pending = Buffer.alloc(0)
  }
}

/**
 * Follows a file of NDJSON /connections documents (a recording, or a tracer that appends):
 * reads from `position` to the end, then looks again every interval. A file shorter than the
 * position was truncated or replaced, and is read from its start.
 */
export class NdjsonFileReader implements DocumentReader {
  private readonly stopping = new AbortController()
  private running: Promise<void> | undefined

  constructor(
    private readonly file: string,
    private position: number,
    private readonly intervalMs: number,
  ) {}

  get describe(): string {
    return `file://${this.file}`
  }

  start(onDocument: (document: TracerDocument) => void, onError: (error: TracerReadError) => void): void {
    this.running = this.loop(new LineSplitter({ onDocument, onError }), onError)
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    await this.running
  }

  private async loop(lines: LineSplitter, onError: (error: TracerReadError) => void): Promise<void> {
    const { signal } = this.stopping
    let failures = 0
    while (!signal.aborted) {
      try {
        await this.readNew(lines)
        failures = 0
      } catch (error) {
        failures++
        onError(
          new TracerReadError('UNREACHABLE', `cannot read ${this.file}: ${(error as Error).message}`, { cause: error }),
        )
      }
      await sleep(failures > 0 ? backoffMs(failures, 30_000) : this.intervalMs, undefined, { signal }).catch(
        () => undefined,
      )
    }
  }

  private async readNew(lines: LineSplitter): Promise<void> {
    const { size } = await stat(this.file)
    if (size < this.position) {
      this.position = 0
      lines.reset()
    }
    if (size === this.position) return
    const handle = await open(this.file, 'r')
    try {
      const buffer = Buffer.allocUnsafe(Math.min(size - this.position, 16 * 1024 * 1024))
      while (this.position < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - this.position), this.position)
        if (bytesRead === 0) break
        this.position += bytesRead
        lines.push(buffer.subarray(0, bytesRead), this.position)
      }
    } finally {
      await handle.close()
    }
  }
}

/** Reads NDJSON /connections documents a tracer streams on a unix socket; reconnects with backoff when it goes away. */
export class NdjsonSocketReader implements DocumentReader {
  private stopped = false
  private socket: Socket | undefined
  private retry: NodeJS.Timeout | undefined

  constructor(
    private readonly path: string,
    private readonly maxBackoffMs: number,
  ) {}

  get describe(): string {
    return `unix://${this.path}`
  }

  start(onDocument: (document: TracerDocument) => void, onError: (error: TracerReadError) => void): void {
    let failures = 0
    const connect = () => {
      const lines = new LineSplitter({ onDocument, onError })
      const socket = (this.socket = createConnection(this.path))
      socket.on('data', (chunk: Buffer) => {
        failures = 0
        lines.push(chunk)
      })
      socket.on('error', (error) =>
        onError(new TracerReadError('UNREACHABLE', `cannot read ${this.path}: ${error.message}`, { cause: error })),
      )
      socket.on('close', () => {
        if (this.stopped) return
        failures++
        this.retry = setTimeout(connect, backoffMs(failures, this.maxBackoffMs))
      })
    }
    connect()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.retry)
    this.socket?.destroy()
  }
}
