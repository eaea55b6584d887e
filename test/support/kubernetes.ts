import {
  AppsV1Api,
  CoreV1Api,
  EventsV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
} from '@kubernetes/client-node'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { type LocalApiServer, startLocalApiServer } from '../../deploy/local/kube-apiserver.js'
import type { ReadMessage } from '../../simulators/kafka-topics.js'

/**
 * Suites that need the real kube-apiserver (built from Go modules on the first run, see
 * deploy/local/apiserver-binaries.ts). KUBESTREAM_SKIP_APISERVER=1 skips them, said once per file.
 */
const skipApiServer = process.env.KUBESTREAM_SKIP_APISERVER === '1'
export const describeWithApiServer = describe.skipIf(skipApiServer)
if (skipApiServer)
  console.warn('[kubestream tests] KUBESTREAM_SKIP_APISERVER=1: skipping the suites that need a kube-apiserver')

/** Typed clients for the test's own calls to the apiserver (independent of kubestream's client). */
export function kubeApis(kubeconfig: string) {
  const config = new KubeConfig()
  config.loadFromFile(kubeconfig)
  return {
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    events: config.makeApiClient(EventsV1Api),
  }
}

/** A landed record's JSON value (null for a tombstone). */
export function jsonOf(message: ReadMessage): any {
  return !message.value || message.value.length === 0 ? null : JSON.parse(message.value.toString('utf8'))
}

/**
 * Creates (or, with dryRun, only validates server-side) every object of a YAML stream, as `kubectl apply` would for new
 * objects.
 */
export async function createManifests(
  kubeconfig: string,
  yamlText: string,
  options: { dryRun?: boolean } = {},
): Promise<void> {
  const config = new KubeConfig()
  config.loadFromFile(kubeconfig)
  const client = KubernetesObjectApi.makeApiClient(config)
  for (const doc of parseAllDocuments(yamlText)) {
    const object = doc.toJS() as KubernetesObject | null
    if (!object) continue
    try {
      await client.create(object, undefined, options.dryRun ? 'All' : undefined)
    } catch (error) {
      const status = (error as { code?: number }).code
      if (status === 409 && !options.dryRun) continue
      throw new Error(
        `${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}: ${(error as Error).message}`,
        { cause: error },
      )
    }
  }
}

/**
 * A local apiserver for one test file, with deploy/kubernetes/cluster-sources' namespace and
 * RBAC applied: kubestream then runs as that service account (`kubeconfig('kubestream')`), with
 * only what the manifests grant. Stopped after the file.
 */
export function useApiServerWithSourceRbac(): () => LocalApiServer {
  let api: LocalApiServer | undefined
  beforeAll(async () => {
    api = await startLocalApiServer()
    await createManifests(
      api.kubeconfig('admin'),
      ['namespace.yaml', 'rbac.yaml']
        .map((file) => readFileSync(`deploy/kubernetes/cluster-sources/${file}`, 'utf8'))
        .join('---\n'),
    )
  }, 180_000)
  afterAll(async () => api?.stop())
  return () => api!
}
