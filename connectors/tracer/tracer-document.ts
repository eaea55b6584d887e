import { KubestreamError, type Recovery } from '../../core/kubestream-error.js'

/** One answer of the tracer: every connection it tracks at that moment (a complete document) and when it arrived. */
export interface TracerDocument {
  readonly connections: readonly unknown[]
  readonly receivedAt: number
  /** How far into an NDJSON file this document ends (bytes): where a restart resumes reading. */
  readonly position?: number
  /** Time spent parsing it, which its source counts as its own. */
  readonly parseMs: number
}

/** Why the tracer could not be read this time; the reader retries with backoff. */
export class TracerReadError extends KubestreamError<'UNREACHABLE' | 'TIMEOUT' | 'HTTP_STATUS' | 'GARBAGE'> {
  get recovery(): Recovery {
    return 'retry'
  }
}

/** Where documents come from: an HTTP endpoint polled, a file followed, a socket streamed. */
export interface DocumentReader {
  /** Starts reading; documents and failures are reported until stop(). A failure never ends the reader. */
  start(onDocument: (document: TracerDocument) => void, onError: (error: TracerReadError) => void): void
  stop(): Promise<void>
  /** Says where this reader is reading, for logs and dead-letter headers. */
  readonly describe: string
}

/** Parses a document, timed. */
export function readDocument(text: string, receivedAt: number, position?: number): TracerDocument {
  const started = performance.now()
  const connections = parseDocument(text)
  return { connections, receivedAt, position, parseMs: performance.now() - started }
}

/** `{"connections": [...]}` → its entries; anything else is garbage from the tracer as a whole. */
export function parseDocument(text: string): unknown[] {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new TracerReadError('GARBAGE', `not JSON: ${(error as Error).message}`)
  }
  const connections = (document as { connections?: unknown } | null)?.connections
  if (!Array.isArray(connections))
    throw new TracerReadError('GARBAGE', 'not a /connections document: no "connections" array')
  return connections
}
