import { RecordError } from '../../core/record-error.js'

const ILLEGAL = /[^a-zA-Z0-9._-]/g

/** Kafka topic names are `[a-zA-Z0-9._-]{1,249}` and never `.` or `..`. */
export function sanitizeTopicName(name: string): string {
  const clean = name.replace(ILLEGAL, '_').slice(0, 249)
  if (clean === '' || clean === '.' || clean === '..')
    throw new RecordError('TOPIC_NAME', `"${name}" cannot be a topic name`)
  return clean
}
