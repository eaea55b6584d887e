import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
  }
}

/** Starts one real KRaft broker for the suite, unless KAFKA_BROKERS points at one. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let broker: LocalBroker | undefined
  const external = process.env.KAFKA_BROKERS
  if (!external) broker = await startLocalBroker()
  const brokers = external ?? broker!.brokers
  project.provide('kafkaBrokers', brokers)
  console.log(`[kubestream tests] Kafka at ${brokers}${external ? ' (external)' : ` (local KRaft broker, Kafka ${broker!.version})`}`)
  return async () => {
    await broker?.stop()
  }
}
