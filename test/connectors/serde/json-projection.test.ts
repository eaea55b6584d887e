import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type FieldTree, hasControlByte, JsonProjection } from '../../../connectors/serde/json-projection.js'
import { projectedJson } from '../../../connectors/serde/serde.js'
import { RecordError } from '../../../core/record-error.js'
import { fieldTreeOf } from '../../../expression/value-reads.js'
import { mulberry32 } from '../../../simulators/cluster-events.js'

/** What the projection must equal: JSON.parse's value, cut down to the tree by the same rules. */
function expected(full: unknown, tree: FieldTree | true): unknown {
  if (tree === true || typeof full !== 'object' || full === null || Array.isArray(full)) return full
  const out: Record<string, unknown> = {}
  for (const [name, below] of tree) {
    if (Object.prototype.hasOwnProperty.call(full, name))
      out[name] = expected((full as Record<string, unknown>)[name], below)
  }
  return out
}

function tree(...paths: string[]): FieldTree {
  return fieldTreeOf(paths.map((p) => ({ path: p.split('.') })))!
}

/** The serde's answer must be JSON.parse's (cut to the tree), or the same rejection. */
function agreesWithJsonParse(text: string | Buffer, fields: FieldTree): void {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text)
  let full: unknown
  let parseError: unknown
  try {
    full = JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    parseError = error
  }
  const serde = projectedJson(fields)
  if (parseError) {
    expect(() => serde.decode(bytes), `accepted ${JSON.stringify(bytes.toString('latin1'))}`).toThrow(RecordError)
    expect(() => serde.decode(bytes)).toThrow((parseError as Error).message)
  } else {
    expect(serde.decode(bytes), `for ${bytes.toString('latin1')}`).toEqual(expected(full, fields))
  }
}

const sample = readFileSync(new URL('../../fixtures/eventrouter-envelope.json', import.meta.url), 'utf8').trim()
const FANOUT_FIELDS = tree(
  'verb',
  'event.metadata.uid',
  'event.metadata.namespace',
  'event.metadata.resourceVersion',
  'event.type',
  'event.reason',
  'old_event.metadata.resourceVersion',
)

describe('JsonProjection', () => {
  it('decodes only the fields in the tree, exactly as JSON.parse reads them', () => {
    const projected = new JsonProjection(FANOUT_FIELDS).project(Buffer.from(sample))
    expect(projected).toEqual({
      verb: 'UPDATED',
      event: {
        metadata: { uid: '3c1f8e2a-5b7d-4c9e-a1f0-2d6b8e9c7a41', namespace: 'shop', resourceVersion: '884213' },
        type: 'Warning',
        reason: 'BackOff',
      },
      old_event: { metadata: { resourceVersion: '884101' } },
    })
  })

  it('takes a field whole when it is read whole or is not an object', () => {
    const fields = tree('event.involvedObject', 'verb.length', 'event.count.x')
    const projected = new JsonProjection(fields).project(Buffer.from(sample)) as Record<string, Record<string, unknown>>
    expect(projected).toEqual(expected(JSON.parse(sample), fields))
    expect(projected.verb).toBe('UPDATED')
    expect(projected.event.count).toBe(7)
  })

  it.each([
    [
      'escapes in values and keys',
      '{"\\u0076erb":"A\\"B\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00","event":{"type":"x"}}',
    ],
    ['a later duplicate wins, whole', '{"event":{"type":"a","reason":"r"},"event":{"type":"b"}}'],
    ['an expected object that is something else', '{"event":[1,{"type":2}],"verb":{"x":[true,false,null]}}'],
    [
      'numbers',
      '{"verb":-0,"event":{"type":1.5e+300,"reason":-12.25E-3},"old_event":{"metadata":{"resourceVersion":1e400}}}',
    ],
    ['whitespace everywhere', ' \t\r\n{ "verb" : "A" ,\n "event" :\t{ "type" : [ 1 , 2 ] } }\n '],
    ['non-ASCII text', '{"verb":"Größe ✓ 名前","event":{"reason":"naïve","type":"x"},"ключ":"значение"}'],
    ['a top-level array', '[{"verb":"A"}]'],
    ['a top-level string', '"verb"'],
    ['empty containers', '{"verb":{},"event":{},"old_event":[]}'],
    ['__proto__ as a field', '{"event":{"__proto__":{"type":"polluted"},"type":"ok"}}'],
    ['deep nesting off the tree', `{"verb":"A","x":${'['.repeat(5000)}${']'.repeat(5000)}}`],
  ])('agrees with JSON.parse on %s', (_name, text) => {
    agreesWithJsonParse(text, FANOUT_FIELDS)
    agreesWithJsonParse(text, tree('verb', 'event.type', 'event.reason', 'ключ', '__proto__'))
  })

  it('keeps __proto__ an own field, as JSON.parse does', () => {
    const projected = new JsonProjection(tree('event.__proto__')).project(
      Buffer.from('{"event":{"__proto__":{"a":1}}}'),
    ) as { event: object }
    expect(Object.getPrototypeOf(projected.event)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(projected.event, '__proto__')?.value).toEqual({ a: 1 })
  })

  it.each([
    ['empty input', ''],
    ['a BOM', '\ufeff{"verb":"A"}'],
    ['truncation', sample.slice(0, 700)],
    ['a trailing comma', '{"verb":"A",}'],
    ['a leading zero', '{"x":01}'],
    ['a bare minus', '{"x":-}'],
    ['a dot without digits', '{"x":1.}'],
    ['an exponent without digits', '{"x":1e+}'],
    ['a control character in a skipped string', '{"x":"a\u0001b","verb":"A"}'],
    ['a tab inside a read string', '{"verb":"a\tb"}'],
    ['a bad escape', '{"x":"\\x41"}'],
    ['a short unicode escape', '{"x":"\\u12"}'],
    ['a misspelled literal', '{"x":nul}'],
    ['single quotes', "{'verb':'A'}"],
    ['text after the value', '{"verb":"A"} x'],
    ['a missing colon', '{"verb" "A"}'],
    ['an unterminated string', '{"verb":"A'],
  ])("rejects %s with JSON.parse's message", (_name, text) => {
    agreesWithJsonParse(text, FANOUT_FIELDS)
  })

  it('agrees with JSON.parse on 20,000 random documents and mutations of them', () => {
    const random = mulberry32(7)
    const fieldSets = [FANOUT_FIELDS, tree('a', 'b.c', 'b.d.e'), tree('a.b.c.d'), tree('k0', 'k1.k2', 'k3.k0.k1')]
    let rejected = 0
    for (let i = 0; i < 20_000; i++) {
      const fields = fieldSets[i % fieldSets.length]
      let text = JSON.stringify(randomValue(random, 0), null, i % 7 === 0 ? 2 : undefined)
      if (i % 2 === 1) text = mutate(random, text)
      const bytes = Buffer.from(text)
      try {
        JSON.parse(text)
      } catch {
        rejected++
      }
      agreesWithJsonParse(bytes, fields)
    }
    // Both halves must be exercised: valid documents and ones JSON.parse rejects.
    expect(rejected).toBeGreaterThan(3_000)
    expect(rejected).toBeLessThan(10_000)
  })

  it('agrees with JSON.parse on bytes that are not valid UTF-8', () => {
    const random = mulberry32(13)
    const fields = tree('a', 'b.c', 'verb')
    for (let i = 0; i < 5_000; i++) {
      const bytes = Buffer.from(
        JSON.stringify({ a: STRINGS[i % STRINGS.length] + 'é✓', b: { c: 'xyz😀', d: ['ü'] }, verb: 'ok' }),
      )
      // Overwrite one to three bytes with anything: a lone lead byte before a quote, a stray
      // continuation byte, a cut multi-byte sequence, or a structural character.
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--)
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
      agreesWithJsonParse(bytes, fields)
    }
  })

  it('projects without falling back for the documents it is built for', () => {
    const projection = new JsonProjection(FANOUT_FIELDS)
    const random = mulberry32(11)
    for (let i = 0; i < 2_000; i++) {
      const text = JSON.stringify(randomValue(random, 0))
      expect(() => projection.project(Buffer.from(text))).not.toThrow()
    }
  })
})

describe('hasControlByte', () => {
  it('finds a byte below 0x20 at any offset and alignment, and nothing else', () => {
    const backing = Buffer.alloc(64, 0x41)
    for (let start = 0; start < 8; start++) {
      for (let length = 0; length < 24; length++) {
        const view = backing.subarray(start, start + length)
        expect(hasControlByte(view)).toBe(false)
        for (let at = 0; at < length; at++) {
          for (const byte of [0x00, 0x09, 0x1f]) {
            view[at] = byte
            expect(hasControlByte(view)).toBe(true)
            view[at] = 0x41
          }
          view[at] = 0x20
          expect(hasControlByte(view)).toBe(false)
          view[at] = 0x80
          expect(hasControlByte(view)).toBe(false)
          view[at] = 0x41
        }
      }
    }
  })
})

const KEYS = [
  'a',
  'b',
  'c',
  'd',
  'e',
  'k0',
  'k1',
  'k2',
  'k3',
  'verb',
  'event',
  'type',
  'reason',
  'metadata',
  'uid',
  'x"y',
  'é',
  '',
]
const STRINGS = [
  '',
  'plain',
  'with "quotes"',
  'back\\slash',
  'tab\there',
  'line\nbreak',
  'ünïcödé',
  '😀',
  '\u0000\u001f',
  '\ud800',
]

function randomValue(random: () => number, depth: number): unknown {
  const roll = random()
  if (depth < 4 && roll < 0.3) {
    const out: Record<string, unknown> = {}
    const count = Math.floor(random() * 5)
    for (let i = 0; i < count; i++) out[KEYS[Math.floor(random() * KEYS.length)]] = randomValue(random, depth + 1)
    return out
  }
  if (depth < 4 && roll < 0.4)
    return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1))
  if (roll < 0.6) return STRINGS[Math.floor(random() * STRINGS.length)]
  if (roll < 0.75) return [0, -0, 1, -1.5, 1e21, 123456789.125, -2e-7][Math.floor(random() * 7)]
  return [true, false, null][Math.floor(random() * 3)]
}

/** One edit of the kind that breaks or bends JSON: a byte changed, inserted, removed, or the tail cut. */
function mutate(random: () => number, text: string): string {
  const at = Math.floor(random() * (text.length + 1))
  const pieces = [
    '"',
    '\\',
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    ' ',
    '\n',
    '\u0001',
    '0',
    '-',
    '.',
    'e',
    'u',
    'n',
    't',
    'é',
    '\\u00',
  ]
  const piece = pieces[Math.floor(random() * pieces.length)]
  switch (Math.floor(random() * 4)) {
    case 0:
      return text.slice(0, at) + piece + text.slice(at + 1)
    case 1:
      return text.slice(0, at) + piece + text.slice(at)
    case 2:
      return text.slice(0, at) + text.slice(at + 1)
    default:
      return text.slice(0, at)
  }
}
