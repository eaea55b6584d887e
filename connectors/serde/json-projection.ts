/**
 * The parts of a JSON value that a topology reads: a field name maps to the fields read below
 * it, or to `true` when that field is read whole. `value.event.metadata.uid` and `value.verb`
 * make `{event: {metadata: {uid: true}}, verb: true}`.
 */
export type FieldTree = ReadonlyMap<string, FieldTree | true>

/**
 * Decodes JSON into only the fields a topology reads, so routing an event by namespace does
 * not build the hundred objects of its managedFields. The whole text is still checked against
 * the JSON grammar, so a document JSON.parse would reject is rejected; fields read whole come
 * from JSON.parse itself, and a field in the tree whose value is not an object is taken whole.
 * Every path the tree names therefore reads exactly as it would on JSON.parse's result.
 *
 * `project` throws on anything it does not accept; the caller then asks JSON.parse, which
 * either gives the real error message or (for nesting deeper than this recursive scanner's
 * stack) the full value.
 */
export class JsonProjection {
  private readonly root: ProjectionNode
  private bytes: Buffer = Buffer.alloc(0)
  /** The bytes as latin1: one char per byte, so offsets agree and the scan runs on V8's string builtins. */
  private text = ''
  private at = 0
  /** Offset of the next backslash at or after `at`'s string, or Infinity: strings before it have no escapes. */
  private nextBackslash = Infinity
  /** Whether the text has a byte below 0x20 anywhere: then strings are checked byte by byte. */
  private hasControl = false
  /** Set by skipString: whether the string just skipped had an escape. */
  private escaped = false

  constructor(fields: FieldTree) {
    this.root = toNode(fields)
  }

  project(bytes: Buffer): unknown {
    const text = bytes.toString('latin1')
    this.bytes = bytes
    this.text = text
    this.at = 0
    this.nextBackslash = indexOrInfinity(text.indexOf('\\'))
    this.hasControl = hasControlByte(bytes)
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
    const value = this.readValue(this.root)
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
    if (this.at !== text.length) throw new JsonSyntax(this.at)
    return value
  }

  private readValue(node: ProjectionNode | null): unknown {
    if (node !== null && this.text.charCodeAt(this.at) === OPEN_BRACE) return this.readObject(node)
    const start = this.at
    this.skipValue()
    return this.materialize(start, this.at)
  }

  private readObject(node: ProjectionNode): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    this.at++
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
    if (this.text.charCodeAt(this.at) === CLOSE_BRACE) {
      this.at++
      return out
    }
    for (;;) {
      if (this.text.charCodeAt(this.at) !== QUOTE) throw new JsonSyntax(this.at)
      const keyStart = this.at
      this.skipString()
      const field = this.escaped
        ? node.names.indexOf(JSON.parse(this.bytes.toString('utf8', keyStart, this.at)) as string)
        : indexOfKey(node, this.text, keyStart + 1, this.at - 1)
      this.expectColon()
      if (field < 0) this.skipValue()
      else setField(out, node.names[field], this.readValue(node.children[field]))
      if (this.endOfMember(CLOSE_BRACE)) return out
    }
  }

  /** A value read whole: the slice's own JSON.parse, with shortcuts where the result is the same. */
  private materialize(start: number, end: number): unknown {
    switch (this.text.charCodeAt(start)) {
      case QUOTE:
        if (this.escaped) return JSON.parse(this.bytes.toString('utf8', start, end))
        return isAscii(this.text, start + 1, end - 1)
          ? this.text.slice(start + 1, end - 1)
          : this.bytes.toString('utf8', start + 1, end - 1)
      case LOWER_T:
        return true
      case LOWER_F:
        return false
      case LOWER_N:
        return null
      case OPEN_BRACE:
      case OPEN_BRACKET:
        return JSON.parse(this.bytes.toString('utf8', start, end))
      default:
        return Number(this.text.slice(start, end))
    }
  }

  private skipValue(): void {
    switch (this.text.charCodeAt(this.at)) {
      case OPEN_BRACE:
        return this.skipObject()
      case OPEN_BRACKET:
        return this.skipArray()
      case QUOTE:
        return this.skipString()
      case LOWER_T:
        return this.skipLiteral('true')
      case LOWER_F:
        return this.skipLiteral('false')
      case LOWER_N:
        return this.skipLiteral('null')
      default:
        return this.skipNumber()
    }
  }

  // readObject, skipObject and skipArray each open their bracket inline: a shared helper for
  // the empty-container check measured ~8% slower on the envelope benchmark.
  private skipObject(): void {
    this.at++
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
    if (this.text.charCodeAt(this.at) === CLOSE_BRACE) {
      this.at++
      return
    }
    for (;;) {
      if (this.text.charCodeAt(this.at) !== QUOTE) throw new JsonSyntax(this.at)
      this.skipString()
      this.expectColon()
      this.skipValue()
      if (this.endOfMember(CLOSE_BRACE)) return
    }
  }

  private skipArray(): void {
    this.at++
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
    if (this.text.charCodeAt(this.at) === CLOSE_BRACKET) {
      this.at++
      return
    }
    for (;;) {
      this.skipValue()
      if (this.endOfMember(CLOSE_BRACKET)) return
    }
  }

  /** After a member: true at the closing bracket, false after a comma (and the whitespace after it). */
  private endOfMember(close: number): boolean {
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
    const char = this.text.charCodeAt(this.at++)
    if (char === close) return true
    if (char !== COMMA) throw new JsonSyntax(this.at - 1)
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
    return false
  }

  private expectColon(): void {
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
    if (this.text.charCodeAt(this.at) !== COLON) throw new JsonSyntax(this.at)
    this.at++
    if (this.text.charCodeAt(this.at) <= SPACE) this.skipWhitespace()
  }

  /**
   * The hot path: most of a Kubernetes event's bytes are inside strings. Without a backslash
   * or control character in the way, the closing quote is found by indexOf alone.
   */
  private skipString(): void {
    const close = this.text.indexOf('"', this.at + 1)
    if (close < 0) throw new JsonSyntax(this.text.length)
    if (close < this.nextBackslash && !this.hasControl) {
      this.at = close + 1
      this.escaped = false
      return
    }
    this.skipStringByChar()
  }

  private skipStringByChar(): void {
    const text = this.text
    let at = this.at + 1
    let escaped = false
    for (;;) {
      const char = text.charCodeAt(at)
      if (char === QUOTE) break
      if (char === BACKSLASH) {
        escaped = true
        at = skipEscape(text, at)
      } else if (char < 0x20 || at >= text.length) {
        throw new JsonSyntax(at)
      } else {
        at++
      }
    }
    this.at = at + 1
    this.escaped = escaped
    if (escaped) this.nextBackslash = indexOrInfinity(text.indexOf('\\', this.at))
  }

  /** JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  private skipNumber(): void {
    const text = this.text
    let at = this.at
    if (text.charCodeAt(at) === MINUS) at++
    if (text.charCodeAt(at) === DIGIT_0) at++
    else if (isDigit(text.charCodeAt(at))) at = skipDigits(text, at)
    else throw new JsonSyntax(at)
    if (text.charCodeAt(at) === DOT) {
      if (!isDigit(text.charCodeAt(++at))) throw new JsonSyntax(at)
      at = skipDigits(text, at)
    }
    const exponent = text.charCodeAt(at)
    if (exponent === LOWER_E || exponent === UPPER_E) {
      const sign = text.charCodeAt(++at)
      if (sign === PLUS || sign === MINUS) at++
      if (!isDigit(text.charCodeAt(at))) throw new JsonSyntax(at)
      at = skipDigits(text, at)
    }
    this.at = at
  }

  private skipLiteral(literal: string): void {
    if (!this.text.startsWith(literal, this.at)) throw new JsonSyntax(this.at)
    this.at += literal.length
  }

  /**
   * Called behind `charCodeAt(at) <= SPACE`: compact JSON has no whitespace, and the inline test measured ~20% faster
   * than the call.
   */
  private skipWhitespace(): void {
    const text = this.text
    let at = this.at
    for (;;) {
      const char = text.charCodeAt(at)
      if (char !== SPACE && char !== LINE_FEED && char !== CARRIAGE_RETURN && char !== TAB) break
      at++
    }
    this.at = at
  }
}

/** A scan that stopped: never shown to users, JSON.parse's own message is. */
class JsonSyntax extends Error {
  constructor(readonly position: number) {
    super(`JSON syntax at byte ${position}`)
  }
}

/**
 * A FieldTree laid out for the scanner: names also as the latin1 text of their UTF-8 bytes, to compare keys without
 * decoding them.
 */
interface ProjectionNode {
  readonly names: string[]
  readonly encoded: string[]
  /** null: the field is read whole. */
  readonly children: Array<ProjectionNode | null>
}

function toNode(fields: FieldTree): ProjectionNode {
  const node: ProjectionNode = { names: [], encoded: [], children: [] }
  for (const [name, below] of fields) {
    node.names.push(name)
    node.encoded.push(Buffer.from(name, 'utf8').toString('latin1'))
    node.children.push(below === true ? null : toNode(below))
  }
  return node
}

function indexOfKey(node: ProjectionNode, text: string, start: number, end: number): number {
  for (let field = 0; field < node.encoded.length; field++) {
    const name = node.encoded[field]
    if (name.length === end - start && text.startsWith(name, start)) return field
  }
  return -1
}

/** As JSON.parse does: a later duplicate wins, and `__proto__` is a plain own field. */
function setField(out: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__')
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true })
  else out[name] = value
}

function skipEscape(text: string, at: number): number {
  const kind = text.charCodeAt(at + 1)
  if (kind === LOWER_U) {
    for (let k = 2; k < 6; k++) if (!isHexDigit(text.charCodeAt(at + k))) throw new JsonSyntax(at + k)
    return at + 6
  }
  if (
    kind === QUOTE ||
    kind === BACKSLASH ||
    kind === SLASH ||
    kind === 0x62 ||
    kind === 0x66 ||
    kind === 0x6e ||
    kind === 0x72 ||
    kind === 0x74
  )
    return at + 2
  throw new JsonSyntax(at + 1)
}

function skipDigits(text: string, at: number): number {
  while (isDigit(text.charCodeAt(at))) at++
  return at
}

/** charCodeAt past the end is NaN, which no comparison here accepts. */
function isDigit(char: number): boolean {
  return char >= DIGIT_0 && char <= 0x39
}

function isHexDigit(char: number): boolean {
  return (char >= DIGIT_0 && char <= 0x39) || (char >= 0x41 && char <= 0x46) || (char >= 0x61 && char <= 0x66)
}

/**
 * Whether any byte is below 0x20 (JSON forbids them inside strings). Four bytes at a time:
 * (w - 0x20202020) & ~w & 0x80808080 is non-zero when some byte of w is below 0x20
 * (bit-twiddling "hasless"); a regular expression over the text costs twice the whole scan.
 */
export function hasControlByte(bytes: Buffer): boolean {
  const start = bytes.byteOffset
  const end = start + bytes.length
  const wordStart = (start + 3) & ~3
  const wordEnd = end & ~3
  const all = new Uint8Array(bytes.buffer)
  if (wordEnd <= wordStart) return hasControlIn(all, start, end)
  if (hasControlIn(all, start, wordStart) || hasControlIn(all, wordEnd, end)) return true
  const words = new Int32Array(bytes.buffer, wordStart, (wordEnd - wordStart) >> 2)
  for (let k = 0; k < words.length; k++) {
    const word = words[k]
    if (((word - 0x20202020) & ~word & 0x80808080) !== 0) return true
  }
  return false
}

function hasControlIn(all: Uint8Array, start: number, end: number): boolean {
  for (let at = start; at < end; at++) if (all[at] < 0x20) return true
  return false
}

function isAscii(text: string, start: number, end: number): boolean {
  for (let at = start; at < end; at++) if (text.charCodeAt(at) >= 0x80) return false
  return true
}

function indexOrInfinity(index: number): number {
  return index < 0 ? Infinity : index
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const SLASH = 0x2f
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c
const COLON = 0x3a
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const DIGIT_0 = 0x30
const LOWER_E = 0x65
const UPPER_E = 0x45
const LOWER_T = 0x74
const LOWER_F = 0x66
const LOWER_N = 0x6e
const LOWER_U = 0x75
const SPACE = 0x20
const LINE_FEED = 0x0a
const CARRIAGE_RETURN = 0x0d
const TAB = 0x09
