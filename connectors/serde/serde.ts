import { RecordError } from '../../core/record-error.js'
import { type FieldTree, JsonProjection } from './json-projection.js'

/**
 * Value (de)serialization by format. Decoding happens once at the source; a sink reuses the
 * bytes it was read with while the value is unchanged, so a pass-through never re-encodes.
 */
export interface Serde {
  decode(bytes: Buffer): unknown
  encode(value: unknown): Buffer
}

const json: Serde = {
  decode(bytes) {
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown
    } catch (error) {
      throw new RecordError('DESERIALIZATION', `value is not JSON: ${(error as Error).message}`)
    }
  },
  encode(value) {
    try {
      return Buffer.from(JSON.stringify(value) ?? 'null')
    } catch (error) {
      throw new RecordError('SERIALIZATION', `value cannot be written as JSON: ${(error as Error).message}`)
    }
  },
}

const string: Serde = {
  decode: (bytes) => bytes.toString('utf8'),
  encode: (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
}

const bytes: Serde = {
  decode: (raw) => raw,
  encode(value) {
    if (Buffer.isBuffer(value)) return value
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    throw new RecordError('SERIALIZATION', `format bytes needs a bytes value, got ${typeof value}`)
  },
}

/** How a topic's values are encoded; keys are always UTF-8 strings. */
export type Format = 'json' | 'string' | 'bytes'

export const serdes: Readonly<Record<Format, Serde>> = { json, string, bytes }

/**
 * JSON decoded into only the fields a topology reads (see JsonProjection). A document the
 * projection does not accept goes to JSON.parse, so errors carry JSON.parse's own message.
 */
export function projectedJson(fields: FieldTree): Serde {
  const projection = new JsonProjection(fields)
  return {
    decode(bytes) {
      try {
        return projection.project(bytes)
      } catch {
        return json.decode(bytes)
      }
    },
    encode: (value) => json.encode(value),
  }
}

/** Keys: strings as UTF-8, bytes as they are, anything else as its JSON text. */
export function encodeKey(key: unknown): Buffer | string | null {
  if (key === null || key === undefined) return null
  if (typeof key === 'string' || Buffer.isBuffer(key)) return key
  return JSON.stringify(key)
}
