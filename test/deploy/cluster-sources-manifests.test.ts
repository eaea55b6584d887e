import { AuthorizationV1Api, KubeConfig } from '@kubernetes/client-node'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import {
  KUBESTREAM_SERVICE_ACCOUNT,
  type LocalApiServer,
  startLocalApiServer,
} from '../../deploy/local/kube-apiserver.js'
import { loadTopologyFile } from '../../topology/load.js'
import { createManifests, describeWithApiServer } from '../support/kubernetes.js'

type Manifest = {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string }
  spec?: any
  rules?: any[]
  subjects?: any[]
  roleRef?: any
}
const read = (path: string) => readFileSync(path, 'utf8')
/** The files a kustomization lists, as `kubectl kustomize` would gather them (no patches here). */
const kustomized = (dir: string): string[] =>
  (parse(read(`${dir}/kustomization.yaml`)) as { resources: string[] }).resources.map((file) => read(`${dir}/${file}`))
const manifestsOf = (texts: string[]): Manifest[] =>
  texts.flatMap((text) => parseAllDocuments(text).map((doc) => doc.toJS() as Manifest)).filter(Boolean)

const clusterSources = manifestsOf(kustomized('deploy/kubernetes/cluster-sources'))

describeWithApiServer('deploy/kubernetes manifests against a real kube-apiserver', () => {
  let api: LocalApiServer
  beforeAll(async () => {
    api = await startLocalApiServer()
  }, 180_000)
  afterAll(async () => api?.stop())

  it('are accepted by the apiserver (server-side dry-run of every object)', async () => {
    // Namespaced objects are validated inside an existing namespace: create that one for real.
    await createManifests(api.kubeconfig(), read('deploy/kubernetes/cluster-sources/namespace.yaml'))
    for (const dir of ['deploy/kubernetes/cluster-sources', 'deploy/kubernetes/network-flows']) {
      // KafkaTopic needs Strimzi's CRDs, which this apiserver does not have; the namespace was created above.
      const texts = kustomized(dir).map((text) =>
        parseAllDocuments(text)
          .filter((doc) => !['KafkaTopic', 'Namespace'].includes((doc.toJS() as Manifest | null)?.kind ?? ''))
          .map((doc) => doc.toString())
          .join('---\n'),
      )
      await createManifests(api.kubeconfig(), texts.join('---\n'), { dryRun: true })
    }
  })

  it('give the service account exactly what the sources use, no more', async () => {
    await createManifests(api.kubeconfig(), read('deploy/kubernetes/cluster-sources/rbac.yaml'))
    const config = new KubeConfig()
    config.loadFromFile(api.kubeconfig())
    const authorization = config.makeApiClient(AuthorizationV1Api)
    const { namespace, name } = KUBESTREAM_SERVICE_ACCOUNT
    const can = async (verb: string, resource: string, group = '', inNamespace?: string) =>
      (
        await authorization.createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${namespace}:${name}`,
              groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
              resourceAttributes: { verb, resource, group, namespace: inNamespace },
            },
          },
        })
      ).status!.allowed
    for (const [resource, group] of [
      ['events', ''],
      ['events', 'events.k8s.io'],
      ['pods', ''],
      ['services', ''],
      ['nodes', ''],
      ['replicasets', 'apps'],
    ]) {
      for (const verb of ['list', 'watch'])
        expect(await can(verb, resource, group), `${verb} ${group}/${resource}`).toBe(true)
      for (const verb of ['get', 'create', 'update', 'delete'])
        expect(await can(verb, resource, group), `${verb} ${group}/${resource}`).toBe(false)
    }
    for (const verb of ['get', 'create', 'update'])
      expect(await can(verb, 'leases', 'coordination.k8s.io', 'kubestream'), `${verb} leases`).toBe(true)
    expect(await can('delete', 'leases', 'coordination.k8s.io', 'kubestream')).toBe(false)
    expect(await can('get', 'leases', 'coordination.k8s.io', 'kube-system')).toBe(false)
    expect(await can('list', 'secrets')).toBe(false)
  })
})

it('runs the examples as the bound service account, with the lease in the pod namespace', () => {
  const subjects = clusterSources.filter((m) => m.kind.endsWith('Binding')).flatMap((m) => m.subjects!)
  for (const set of clusterSources.filter((m) => m.kind === 'StatefulSet')) {
    const pod = set.spec.template.spec
    expect(subjects).toContainEqual({
      kind: 'ServiceAccount',
      name: pod.serviceAccountName,
      namespace: set.metadata.namespace,
    })
    const container = pod.containers[0]
    const env: Record<string, string> = { POD_NAME: `${set.metadata.name}-0`, POD_NAMESPACE: set.metadata.namespace! }
    for (const { name, value } of container.env) if (value !== undefined) env[name] = String(value)
    const graph = loadTopologyFile(container.args[1].replace('/app/', ''), env)
    const sources = graph.sources.filter((s) => s.kubernetes)
    expect(sources.length).toBeGreaterThan(0)
    // More than one replica only makes sense with a lease, which RBAC grants in the pod's namespace only.
    for (const source of sources) expect(source.kubernetes!.lease?.namespace, source.name).toBe(set.metadata.namespace)
    expect(set.spec.replicas).toBeGreaterThan(1)
  }
  const leaseRole = clusterSources.find((m) => m.kind === 'Role')!
  expect(leaseRole.metadata.namespace).toBe('kubestream')
  expect(leaseRole.rules).toEqual([
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  ])
})
