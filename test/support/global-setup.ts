import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { ensureApiServerBinaries } from '../../deploy/local/apiserver-binaries.js'
import { ensureHelm } from '../../deploy/local/helm-binary.js'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
  }
}

/**
 * Starts one real KRaft broker for the suite, unless KAFKA_BROKERS points at one, and builds the
 * kube-apiserver and etcd binaries the Kubernetes suites start (cached; the first run takes
 * minutes) unless KUBESTREAM_SKIP_APISERVER=1, and helm, which the chart's tests run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const helm = await ensureHelm((line) => console.log(`[kubestream tests] ${line}`))
  console.log(`[kubestream tests] helm: ${helm}`)
  if (process.env.KUBESTREAM_SKIP_APISERVER !== '1') {
    const binaries = await ensureApiServerBinaries((line) => console.log(`[kubestream tests] ${line}`))
    console.log(`[kubestream tests] kube-apiserver ${binaries.kubernetesVersion}, etcd ${binaries.etcdVersion}`)
  }
  let broker: LocalBroker | undefined
  const external = process.env.KAFKA_BROKERS
  if (!external) broker = await startLocalBroker()
  const brokers = external ?? broker!.brokers
  project.provide('kafkaBrokers', brokers)
  console.log(
    `[kubestream tests] Kafka at ` +
      `${brokers}${external ? ' (external)' : ` (local KRaft broker, Kafka ${broker!.version})`}`,
  )
  return async () => {
    await broker?.stop()
  }
}
