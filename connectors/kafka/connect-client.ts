import Kafka from 'node-rdkafka'
import { accessError } from './access-error.js'
import type { LibrdkafkaConfig } from './client-config.js'
import { KafkaError } from './kafka-error.js'

const CONNECT_TIMEOUT_MS = 30_000

/**
 * Connects a node-rdkafka client. Refused credentials end it at once with an AUTHENTICATION
 * error (librdkafka would retry them until the timeout and then say `broker transport failure`);
 * once connected, every later authentication or authorization failure goes to `onRefused`.
 */
export function connectClient(
  client: Kafka.Producer | Kafka.KafkaConsumer,
  what: string,
  config: LibrdkafkaConfig,
  onRefused: (error: KafkaError) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let state: 'connecting' | 'connected' | 'refused' = 'connecting'
    // A producer hears of refused credentials only when polled; connect() polls nothing while it
    // waits for metadata (a consumer hears of them when it consumes).
    const polling = client instanceof Kafka.Producer ? setInterval(() => pollQuietly(client), 100) : undefined
    // Producer and consumer emit event.error alike; their typings just do not share the method.
    const events = client as Kafka.Producer
    events.on('event.error', (error: Kafka.LibrdKafkaError) => {
      const refused = accessError(error, { config })
      if (!refused || state === 'refused') return
      if (state === 'connected') return onRefused(refused)
      state = 'refused'
      clearInterval(polling)
      reject(refused)
      // Nothing will connect with these credentials: stop librdkafka retrying them.
      client.disconnect(() => undefined)
    })
    client.connect({ timeout: CONNECT_TIMEOUT_MS }, (error) => {
      clearInterval(polling)
      if (state === 'refused') return
      state = 'connected'
      if (!error) return resolve()
      reject(
        accessError(error, { config }) ??
          new KafkaError('CONNECT', `${what} cannot connect: ${error.message}`, { cause: error }),
      )
    })
  })
}

/** Before librdkafka's handle exists, node-rdkafka refuses to poll: nothing to hear yet. */
function pollQuietly(producer: Kafka.Producer): void {
  try {
    producer.poll()
  } catch {
    // not connected yet
  }
}
