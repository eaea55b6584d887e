import {
  AppsV1Api,
  CoreV1Api,
  EventsV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
} from '@kubernetes/client-node'
import { afterAll, beforeAll, describe } from 'vitest'
import { parseAllDocuments } from 'yaml'
import {
  KUBESTREAM_SERVICE_ACCOUNT,
  type LocalApiServer,
  startLocalApiServer,
} from '../../deploy/local/kube-apiserver.js'
import type { ReadMessage } from '../../simulators/kafka-topics.js'
import { manifestsOf, renderChart } from './helm.js'

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
 * A local apiserver for one test file, with the Helm chart's service account and RBAC for the
 * two examples that read the Kubernetes API (events-persist, cluster-tables) applied:
 * kubestream then runs as that service account (`kubeconfig('kubestream')`), with only what
 * the chart grants. Stopped after the file.
 */
export function useApiServerWithSourceRbac(): () => LocalApiServer {
  let api: LocalApiServer | undefined
  beforeAll(async () => {
    api = await startLocalApiServer()
    await createChartAccess(api.kubeconfig('admin'), [
      { name: 'events-persist', topology: 'examples/events-persist.yaml' },
      { name: 'events-persist-v1', topology: 'examples/events-persist.yaml', env: { EVENTS_API: 'events.k8s.io' } },
      { name: 'cluster-tables', topology: 'examples/cluster-tables.yaml' },
    ])
  }, 180_000)
  afterAll(async () => api?.stop())
  return () => api!
}

/**
 * Creates the namespace of KUBESTREAM_SERVICE_ACCOUNT, and in it the service account and the
 * RBAC objects of chart releases (a topology file with env values each), all bound to that account.
 */
async function createChartAccess(
  kubeconfig: string,
  releases: Array<{ name: string; topology: string; env?: Record<string, string> }>,
): Promise<void> {
  const { namespace, name } = KUBESTREAM_SERVICE_ACCOUNT
  await createManifests(kubeconfig, `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${namespace} }\n`)
  for (const release of releases) {
    const rendered = await renderChart({
      name: release.name,
      namespace,
      files: { 'topology.text': release.topology },
      values: { 'serviceAccount.name': name, env: release.env ?? {} },
    })
    const access = manifestsOf(rendered).filter((m) => m.kind === 'ServiceAccount' || m.kind.match(/Role(Binding)?$/))
    await createManifests(kubeconfig, access.map((m) => JSON.stringify(m)).join('\n---\n'))
  }
}
