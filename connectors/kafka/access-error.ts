import Kafka from 'node-rdkafka'
import type { LibrdkafkaConfig } from './client-config.js'
import { KafkaError } from './kafka-error.js'

const { ERRORS } = Kafka.CODES

/** What a client was doing when the brokers refused it, to name the ACL that is missing. */
export interface AccessContext {
  /** The client's settings: who it authenticates as (never a secret from them). */
  readonly config: LibrdkafkaConfig
  /**
   * The topic of a refused produce or read, when the call knows it; a consumer's refused fetch
   * names no partition, so it gives every topic it reads.
   */
  readonly topic?: string | readonly string[]
  /** The operation on that topic: READ for a consumer, WRITE for a producer, CREATE for the admin. */
  readonly operation?: 'READ' | 'WRITE' | 'CREATE' | 'DESCRIBE'
}

/**
 * An authentication or authorization failure as the runtime reports it: which identity was
 * refused and, for a missing ACL, the resource and the operation, so the operator knows what to
 * fix. Undefined for any other error. librdkafka retries refused connections until a timeout
 * and sometimes reports errors by their text only (code -1), so both are looked at.
 */
export function accessError(error: { code: number; message: string }, context: AccessContext): KafkaError | undefined {
  const is = (code: number, text: RegExp) => error.code === code || text.test(error.message)
  const who = identity(context.config)
  if (
    is(ERRORS.ERR__AUTHENTICATION, /authentication fail|sasl authentication error/i) ||
    is(ERRORS.ERR_SASL_AUTHENTICATION_FAILED, /sasl authentication failed/i) ||
    is(ERRORS.ERR__SSL, /ssl handshake failed|certificate verify failed/i)
  )
    return new KafkaError('AUTHENTICATION', `authentication failed: the brokers refused ${who}: ${error.message}`, {
      cause: error,
    })
  const refused = (resource: string, operation: string) =>
    new KafkaError(
      'AUTHORIZATION',
      `authorization failed: ${who} may not ${operation} ${resource} (add an ACL allowing ${operation} on it): ` +
        error.message,
      { cause: error },
    )
  if (is(ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED, /topic authorization failed/i)) {
    const topics = [context.topic ?? topicNamedIn(error.message) ?? []].flat()
    const resource =
      topics.length === 0
        ? 'a topic'
        : topics.length === 1
          ? `topic ${topics[0]}`
          : `one of topics ${topics.join(', ')}`
    return refused(resource, context.operation ?? 'READ or WRITE')
  }
  if (is(ERRORS.ERR_GROUP_AUTHORIZATION_FAILED, /group authorization failed/i))
    return refused(`group ${String(context.config['group.id'])}`, 'READ')
  if (is(ERRORS.ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, /transactional id authorization failed/i))
    return refused(`transactional id ${String(context.config['transactional.id'])}`, 'WRITE')
  if (is(ERRORS.ERR_CLUSTER_AUTHORIZATION_FAILED, /cluster authorization failed/i))
    return refused('on the cluster', context.operation === 'CREATE' ? 'CREATE topics' : 'IDEMPOTENT_WRITE')
  return undefined
}

/**
 * A refusal librdkafka only logs: a transactional producer whose record's partition the
 * coordinator would not add to the transaction (no WRITE on its topic). librdkafka then fails
 * the transaction with no more than `Local: Erroneous state` on the next produce, so this log
 * line (level 3, ADDPARTS) is where the topic is named.
 */
export function accessErrorInLog(
  log: { severity: number; fac: string; message: string },
  config: LibrdkafkaConfig,
): KafkaError | undefined {
  if (log.severity > 3) return undefined
  const refused = /Failed to add partition "(.+)" \[\d+\] to transaction: (.*authorization failed.*)$/i.exec(
    log.message,
  )
  if (!refused) return undefined
  return accessError(
    { code: ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED, message: refused[2] },
    { config, topic: refused[1], operation: 'WRITE' },
  )
}

/** Topics the brokers would not describe to this client, as the error that names the missing ACL. */
export function describeRefused(topics: readonly string[], config: LibrdkafkaConfig): KafkaError {
  return accessError(
    { code: ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED, message: UNDESCRIBED },
    { config, topic: topics, operation: 'DESCRIBE' },
  )!
}

const UNDESCRIBED =
  'Broker: Topic authorization failed (the brokers do not tell a client that may not DESCRIBE a topic ' +
  'whether it exists)'

/** Who the client is, as the brokers see it: enough to find the user, nothing secret. */
function identity(config: LibrdkafkaConfig): string {
  const get = (name: string) => (config[name] === undefined ? undefined : String(config[name]))
  const protocol = (get('security.protocol') ?? 'plaintext').toUpperCase()
  if (protocol.startsWith('SASL')) {
    const mechanism = get('sasl.mechanisms') ?? get('sasl.mechanism') ?? 'GSSAPI'
    return `${mechanism} user "${get('sasl.username') ?? ''}" over ${protocol}`
  }
  if (get('ssl.certificate.location') !== undefined || get('ssl.certificate.pem') !== undefined)
    return `the client certificate ${get('ssl.certificate.location') ?? '(inline)'} over ${protocol}`
  return `an unauthenticated client over ${protocol}`
}

/** The topic librdkafka names in its text (`… topic not available: events: Broker: Topic authorization failed`). */
function topicNamedIn(message: string): string | undefined {
  return /(?:topic not available|topic)\s*:?\s*([A-Za-z0-9._-]+):\s*Broker: Topic authorization failed/i.exec(
    message,
  )?.[1]
}
