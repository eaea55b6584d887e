import type { OperatorFunction } from 'rxjs'
import { sanitizeTopicName } from '../connectors/kafka/topic-name.js'
import { encodeKey, type Serde } from '../connectors/serde/serde.js'
import type { RecordCollector, TopicSpec } from '../core/record-collector.js'
import { type RecordBatch, type StreamRecord } from '../core/record.js'
import { checkTimestampAhead } from '../core/timestamp-limit.js'
import { exposeRecord, newExpressionContext } from '../expression/record-scope.js'
import type { CompiledTemplate } from '../expression/template.js'
import { recordOperator, type StepContext } from './record-operator.js'

export interface ToOptions {
  topic: CompiledTemplate
  serde: Serde
  /** How a destination topic is created the first time a record goes to it. */
  topicSpec: TopicSpec
  collector: RecordCollector
}

/**
 * Writes each record to a Kafka topic: a fixed name, or a template rendered per record
 * (`events.${value.event.metadata.namespace}`). Characters Kafka does not allow in topic
 * names become `_`. Key, headers and timestamp go with the record. Terminal: emits nothing.
 *
 * See also: the dead-letter topic, which receives records this step cannot write.
 */
export function to(context: StepContext, options: ToOptions): OperatorFunction<RecordBatch, RecordBatch> {
  const { topic, serde, topicSpec, collector } = options
  const scope = newExpressionContext()
  const fixedTopic = topic.isStatic ? sanitizeTopicName(topic.render(scope)) : undefined
  // A template renders the same few names over and over (one per namespace): sanitize each once.
  const sanitized = new Map<string, string>()
  const destinationOf = (rendered: string): string => {
    let name = sanitized.get(rendered)
    if (name === undefined) {
      name = sanitizeTopicName(rendered)
      if (sanitized.size < MAX_REMEMBERED_TOPICS) sanitized.set(rendered, name)
    }
    return name
  }
  const { e2eLatency } = context
  return recordOperator(context, (record) => {
    const now = Date.now()
    checkTimestampAhead(record.timestamp, now)
    e2eLatency?.record(now - record.timestamp, now)
    const destination = fixedTopic ?? destinationOf(topic.render(exposeRecord(scope, record)))
    collector.send(
      {
        topic: destination,
        key: encodeKey(record.key),
        value: record.value === null ? null : (record.encodedValue ?? serde.encode(record.value)),
        headers: toKafkaHeaders(record),
        timestamp: record.timestamp,
      },
      topicSpec,
    )
  })
}

const MAX_REMEMBERED_TOPICS = 10_000

function toKafkaHeaders(record: StreamRecord): OutgoingHeaders | undefined {
  let out: OutgoingHeaders | undefined
  for (const name in record.headers) (out ??= []).push({ [name]: record.headers[name] })
  return out
}

type OutgoingHeaders = Array<Record<string, string>>
