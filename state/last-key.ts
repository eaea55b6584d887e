/**
 * The bytes of the last key a store was asked for. Operators read a key and then write it (an
 * aggregation's get and put), and each encoding copies the key into a new Buffer: keeping the
 * last one saves a copy per record. Store keys are never mutated, so sharing the Buffer is safe.
 */
export class LastKey {
  private key: string | undefined
  private start = 0
  private encoded: Buffer = Buffer.alloc(0)

  /** `start` is a window store's window start; a key-value store leaves it 0. */
  constructor(private readonly encode: (key: string, start: number) => Buffer) {}

  bytes(key: string, start = 0): Buffer {
    // No key is remembered at first: `key !== undefined` sends the first call to the encoder.
    if (key !== this.key || start !== this.start) {
      // Encoded first: a key the encoder refuses (too long) is not remembered.
      this.encoded = this.encode(key, start)
      this.key = key
      this.start = start
    }
    return this.encoded
  }
}
