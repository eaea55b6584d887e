/**
 * `npm run kafka:start`: a local KRaft broker for development, until Ctrl-C.
 * Prints the KAFKA_BROKERS value to export in another shell.
 */
import { startLocalBroker } from './kafka-broker.js'

const broker = await startLocalBroker()
console.log(`Kafka ${broker.version} (KRaft) is up; logs in ${broker.logDir}`)
console.log(`export KAFKA_BROKERS=${broker.brokers}`)
const stop = async () => {
  await broker.stop()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
