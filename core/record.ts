/** Where a record was read from, and its bytes as read: the dead-letter topic gets them unchanged. */
export interface RecordOrigin {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
}

/** One record on its way through a task. Operators never mutate one: they make a changed copy. */
export interface StreamRecord {
  readonly key: unknown
  readonly value: unknown
  readonly headers: Readonly<Record<string, string>>
  readonly timestamp: number
  /** The value's bytes as read, while `value` is unchanged: a sink writes them back without re-encoding. */
  readonly encodedValue: Buffer | undefined
  readonly origin: RecordOrigin
}

/** Records of one partition, in offset order. Operators run once per batch, plain loops inside. */
export type RecordBatch = StreamRecord[]

export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

/** A copy with some fields replaced; same field order every time so V8 keeps one shape. */
export function withChanges(
  record: StreamRecord,
  changes: Partial<Pick<StreamRecord, 'key' | 'value' | 'headers' | 'encodedValue' | 'timestamp'>>,
): StreamRecord {
  return {
    key: 'key' in changes ? changes.key : record.key,
    value: 'value' in changes ? changes.value : record.value,
    headers: changes.headers ?? record.headers,
    timestamp: changes.timestamp ?? record.timestamp,
    encodedValue: 'value' in changes ? changes.encodedValue : record.encodedValue,
    origin: record.origin,
  }
}
