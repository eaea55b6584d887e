import { NO_HEADERS, type StreamRecord } from '../../core/record.js'

/** A decoded record as a task would build it from a consumed message. */
export function record(
  value: unknown,
  options: { key?: string | null; offset?: number; headers?: Record<string, string> } = {},
): StreamRecord {
  const encoded = Buffer.from(JSON.stringify(value))
  return {
    key: options.key ?? null,
    value,
    headers: options.headers ?? NO_HEADERS,
    timestamp: 1_700_000_000_000,
    encodedValue: encoded,
    origin: {
      topic: 'in',
      partition: 0,
      offset: options.offset ?? 0,
      key: options.key ? Buffer.from(options.key) : null,
      value: encoded,
    },
  }
}
