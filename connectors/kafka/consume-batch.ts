import type Kafka from 'node-rdkafka'
import { createRequire } from 'node:module'

/** node-rdkafka's error type, which its consume callback hands out (not exported by its index). */
const librdkafkaError = (
  createRequire(import.meta.url)('node-rdkafka/lib/error.js') as {
    create: (this: void, error: unknown) => Kafka.LibrdKafkaError
  }
).create

/** A partition end the batch reached (with `enable.partition.eof`), as node-rdkafka emits it. */
interface EndOfPartition {
  topic: string
  partition: number
  offset: number
}

/**
 * The binding method `connectors/kafka/binding/consume-flat.patch` adds to node-rdkafka (see
 * `KafkaConsumer::NodeConsumeFlat` there): consume(n)'s messages as one flat array of FIELDS
 * values each, their values and keys in one buffer.
 */
type ConsumeFlat = (
  timeoutMs: number,
  max: number,
  callback: (error: unknown, flat: unknown[], ends: EndOfPartition[], bytes: Buffer) => void,
) => void

/** Values per message in consumeFlat's array (`Conversion::Message::FLAT_FIELDS`). */
const FIELDS = 10

let warned = false

/**
 * Reads up to `max` messages as node-rdkafka's `consume(max, callback)` does, waiting up to
 * `timeoutMs` for each, and emits the partition ends among them as `partition.eof` before calling
 * back. Through the binding's consumeFlat when kubestream's install added it: node-rdkafka makes
 * each message's object and two buffers from C++, which took ~10 µs a message of the main
 * thread, more than half of a bare consumer's time; consumeFlat copies a batch's values and keys
 * into one buffer, and the objects are made here, ~1 µs a message.
 */
export function consumeBatch(
  consumer: Kafka.KafkaConsumer,
  max: number,
  timeoutMs: number,
  callback: (error: Kafka.LibrdKafkaError | null, messages: Kafka.Message[]) => void,
): void {
  const client = (consumer as unknown as { _client: { consumeFlat?: ConsumeFlat } })._client
  if (typeof client.consumeFlat !== 'function') {
    warnOnce()
    consumer.setDefaultConsumeTimeout(timeoutMs)
    return consumer.consume(max, callback)
  }
  client.consumeFlat(timeoutMs, max, (error, flat, ends, bytes) => {
    if (error) return callback(librdkafkaError(error), [])
    for (const { topic, partition, offset } of ends) consumer.emit('partition.eof', { topic, partition, offset })
    callback(null, messagesOf(flat, bytes))
  })
}

/** The messages in consumeFlat's array, viewing their values and keys in its buffer. */
export function messagesOf(flat: unknown[], bytes: Buffer): Kafka.Message[] {
  const messages = new Array<Kafka.Message>(flat.length / FIELDS)
  for (let m = 0, f = 0; f < flat.length; m++, f += FIELDS) {
    const message: Kafka.Message = {
      value: view(bytes, flat[f] as number, flat[f + 1] as number),
      size: flat[f + 8] as number,
      key: view(bytes, flat[f + 2] as number, flat[f + 3] as number),
      topic: flat[f + 4] as string,
      offset: flat[f + 5] as number,
      partition: flat[f + 6] as number,
      timestamp: flat[f + 7] as number,
    }
    if (flat[f + 9] !== undefined) message.headers = flat[f + 9] as Kafka.MessageHeader[]
    messages[m] = message
  }
  return messages
}

/** The bytes at `start` (null for a length of -1): a view, as Node's own small buffers share a pool. */
function view(bytes: Buffer, start: number, length: number): Buffer | null {
  return length < 0 ? null : Buffer.from(bytes.buffer, bytes.byteOffset + start, length)
}

function warnOnce(): void {
  if (warned) return
  warned = true
  process.emitWarning(
    "node-rdkafka's binding lacks consumeFlat, which kubestream's postinstall adds (`npm rebuild kubestream`; " +
      'in a checkout `node connectors/kafka/binding/install.js`): consuming costs the main thread several times more',
    { code: 'KUBESTREAM_SLOW_CONSUME' },
  )
}
