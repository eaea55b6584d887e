import { AuthorizationV1Api, KubeConfig } from '@kubernetes/client-node'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalApiServer, startLocalApiServer } from '../../deploy/local/kube-apiserver.js'
import type { TopologyGraph } from '../../topology/graph.js'
import { loadTopologyFile } from '../../topology/load.js'
import { lintChart, type Manifest, manifestsOf, type Release, renderChart } from '../support/helm.js'
import { createManifests, describeWithApiServer } from '../support/kubernetes.js'

const EXAMPLES = ['warning-counts', 'events-fanout', 'events-persist', 'cluster-tables', 'network-flows']
const NAMESPACE = 'streams'
const example = (name: string) => `examples/${name}.yaml`
const scratch = mkdtempSync(join(tmpdir(), 'kubestream-chart-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

async function render(release: Partial<Release> & { example?: string }): Promise<Manifest[]> {
  return manifestsOf(
    await renderChart({
      name: release.name ?? release.example ?? 'app',
      namespace: release.namespace ?? NAMESPACE,
      files: release.example ? { 'topology.text': example(release.example), ...release.files } : release.files,
      values: release.values,
    }),
  )
}

const find = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind)
const only = (manifests: Manifest[], kind: string) => {
  const found = find(manifests, kind)
  expect(found.map((m) => m.kind)).toEqual([kind])
  return found[0]
}

/**
 * The topology as kubestream loads it in the pod: the ConfigMap's files where the container
 * mounts them, the container's args and env as the kubelet gives them (fieldRefs as pod `pod`
 * on node `node` would have them, `$(VAR)` expanded).
 */
function loadAsThePod(manifests: Manifest[], workload: Manifest): { graph: TopologyGraph; args: string[] } {
  const pod = workload.spec.template.spec
  const container = pod.containers[0]
  const configMap = only(manifests, 'ConfigMap')
  const files = new Map<string, string>()
  for (const mount of container.volumeMounts as Array<{ name: string; mountPath: string; subPath?: string }>) {
    if (mount.name !== 'config') continue
    const local = join(scratch, `${workload.metadata.name}-${mount.subPath}`)
    writeFileSync(local, configMap.data![mount.subPath!])
    files.set(mount.mountPath, local)
  }
  const fields: Record<string, string> = {
    'metadata.name': `${workload.metadata.name}-0`,
    'metadata.namespace': NAMESPACE,
    'spec.nodeName': 'node-7',
  }
  const env: Record<string, string> = {}
  for (const { name, value, valueFrom } of container.env as Array<{ name: string; value?: string; valueFrom?: any }>)
    env[name] = value ?? fields[valueFrom.fieldRef.fieldPath]
  const args = (container.args as string[]).map((arg) => arg.replace(/\$\((\w+)\)/g, (_, name: string) => env[name]))
  const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
  expect(args[0]).toBe('run')
  const topologyFile = files.get(args[1]) ?? args[1].replace(/^\/app\//, '')
  const graph = loadTopologyFile(topologyFile, env, { kafkaFile: files.get(option('kafka-config')!) })
  return { graph, args }
}

describe('the Helm chart (deploy/helm/kubestream)', () => {
  it.each(EXAMPLES)('passes helm lint --strict with %s', async (name) => {
    await expect(lintChart({ files: { 'topology.text': example(name) } })).resolves.toContain('0 chart(s) failed')
  })

  it('matches the engine it deploys: appVersion is the package version', () => {
    const chart = readFileSync('deploy/helm/kubestream/Chart.yaml', 'utf8')
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version
    expect(chart).toContain(`appVersion: "${version}"`)
  })

  it.each(EXAMPLES)(
    'runs %s as a StatefulSet that loads it, one volume per replica, probed and drained',
    async (name) => {
      const manifests = await render({
        example: name,
        values: { replicas: 3, 'kafka.bootstrapServers': 'my-cluster-kafka-bootstrap.kafka:9092' },
      })
      const set = only(manifests, 'StatefulSet')
      const { graph, args } = loadAsThePod(manifests, set)
      expect(graph.kafka.bootstrapServers).toBe('my-cluster-kafka-bootstrap.kafka:9092')
      expect(set.spec.replicas).toBe(3)
      // The pod name is the instance id: static membership and transactional ids survive restarts.
      expect(args).toContain(`--instance-id=${set.metadata.name}-0`)
      // Queries are forwarded to each pod by its name under the headless Service.
      const service = only(manifests, 'Service')
      expect(service.spec.clusterIP).toBe('None')
      expect(set.spec.serviceName).toBe(service.metadata.name)
      const http = service.spec.ports.find((p: { name: string }) => p.name === 'http').port as number
      expect(args).toContain(
        `--advertised-url=http://${set.metadata.name}-0.${service.metadata.name}.${NAMESPACE}.svc:${http}`,
      )
      const pod = set.spec.template.spec
      const container = pod.containers[0]
      const stateDir = args.find((arg) => arg.startsWith('--state-dir='))!.slice('--state-dir='.length)
      const stateMount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === stateDir)
      expect(set.spec.volumeClaimTemplates.map((t: Manifest) => t.metadata.name)).toEqual([stateMount.name])
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(graph.processing.shutdownTimeoutMs)
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' })
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' })
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
      expect(pod.securityContext.runAsNonRoot).toBe(true)
      const labels = set.spec.template.metadata.labels
      for (const selector of [service.spec.selector, only(manifests, 'PodDisruptionBudget').spec.selector.matchLabels])
        expect(labels).toMatchObject(selector)
      // The pod reads the Kubernetes API only when the topology does.
      const readsKubernetes = graph.sources.some((source) => source.kubernetes)
      expect(pod.automountServiceAccountToken).toBe(readsKubernetes)
      expect(find(manifests, 'ClusterRole').length > 0).toBe(readsKubernetes)
    },
  )

  it('wires Strimzi KafkaUser secrets: SCRAM-SHA-512 over TLS, and mutual TLS, as mounted files only', async () => {
    for (const [authentication, security] of [
      [
        'scram-sha-512',
        {
          tls: { caFile: '/etc/kafka/cluster-ca/ca.crt' },
          sasl: { mechanism: 'SCRAM-SHA-512', username: 'counts-user', passwordFile: '/etc/kafka/user/password' },
        },
      ],
      [
        'tls',
        {
          tls: {
            caFile: '/etc/kafka/cluster-ca/ca.crt',
            certFile: '/etc/kafka/user/user.crt',
            keyFile: '/etc/kafka/user/user.key',
          },
        },
      ],
    ] as const) {
      const manifests = await render({
        example: 'warning-counts',
        values: {
          'kafka.bootstrapServers': 'my-cluster-kafka-bootstrap.kafka:9093',
          'kafka.clusterCaSecret': 'my-cluster-cluster-ca-cert',
          'kafka.user': { name: 'counts-user', authentication },
          'kafka.config': { 'client.rack': 'zone-a' },
        },
      })
      const set = only(manifests, 'StatefulSet')
      const { graph } = loadAsThePod(manifests, set)
      expect(graph.kafka.security, authentication).toEqual(security)
      expect(graph.kafka.config?.['client.rack']).toBe('zone-a')
      const pod = set.spec.template.spec
      const mounted = (path: string) => {
        const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) =>
          path.startsWith(`${m.mountPath}/`),
        )
        return pod.volumes.find((v: { name: string }) => v.name === mount?.name)?.secret
      }
      expect(mounted(security.tls.caFile)).toMatchObject({ secretName: 'my-cluster-cluster-ca-cert' })
      for (const file of [security.tls.caFile, ...Object.values('sasl' in security ? security.sasl : security.tls)])
        if (file.startsWith('/etc/kafka/user/')) expect(mounted(file)).toEqual({ secretName: 'counts-user' })
    }
    await expect(
      render({ example: 'warning-counts', values: { 'kafka.user': { name: 'u', authentication: 'tls' } } }),
    ).rejects.toThrow(/mutual TLS runs over TLS/)
    await expect(
      render({ example: 'warning-counts', values: { 'kafka.user': { name: 'u', authentication: 'plain' } } }),
    ).rejects.toThrow(/use tls, scram-sha-512 or scram-sha-256/)
    await expect(render({})).rejects.toThrow(/set topology.text/)
  })

  it('runs network-flows as a per-node DaemonSet (--ingest only) next to a StatefulSet (--ingest off)', async () => {
    const ingest = await render({ name: 'flows-ingest', example: 'network-flows', values: { workload: 'daemonset' } })
    expect(find(ingest, 'StatefulSet')).toEqual([])
    expect(find(ingest, 'PodDisruptionBudget')).toEqual([])
    const daemonSet = only(ingest, 'DaemonSet')
    const { graph, args } = loadAsThePod(ingest, daemonSet)
    expect(args).toContain('--ingest=only')
    expect(args).toContain('--instance-id=flows-ingest-kubestream-node-7')
    const pod = daemonSet.spec.template.spec
    const hostPathOf = (path: string) => {
      const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) =>
        `${path}/`.startsWith(`${m.mountPath}/`),
      )
      return pod.volumes.find((v: { name: string }) => v.name === mount?.name)?.hostPath
    }
    const tracer = graph.sources.find((source) => source.tracer)!
    expect(tracer.tracer!.node).toBe('node-7')
    expect(hostPathOf(tracer.tracer!.address)).toMatchObject({ path: '/run/tracer' })
    // The last counters a node's tracer reported outlive the pod.
    expect(hostPathOf(args.find((a) => a.startsWith('--state-dir='))!.slice('--state-dir='.length))).toBeDefined()
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }])

    const aggregate = await render({ name: 'flows', example: 'network-flows', values: { ingest: 'off' } })
    const { graph: steps, args: stepArgs } = loadAsThePod(aggregate, only(aggregate, 'StatefulSet'))
    expect(stepArgs).toContain('--ingest=off')
    expect(steps.applicationId).toBe(graph.applicationId)
    expect(steps.sources.find((s) => s.tracer)!.topic).toBe(tracer.topic)
  })

  it('declares the KafkaTopics asked for, and a ServiceMonitor that sends the HTTP token', async () => {
    const manifests = await render({
      example: 'warning-counts',
      values: {
        kafkaTopics: {
          create: true,
          cluster: 'prod',
          namespace: 'kafka',
          topics: [{ name: 'warning-counts', partitions: 12, replicas: 3, config: { 'retention.ms': 604800000 } }],
        },
        serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'prometheus' } },
        'http.tokenSecret': 'metrics-token',
      },
    })
    const topic = only(manifests, 'KafkaTopic')
    expect(topic.metadata).toMatchObject({ name: 'warning-counts', namespace: 'kafka' })
    expect(topic.metadata.labels!['strimzi.io/cluster']).toBe('prod')
    expect(topic.spec).toEqual({ partitions: 12, replicas: 3, config: { 'retention.ms': 604800000 } })
    const monitor = only(manifests, 'ServiceMonitor')
    expect(monitor.metadata.labels!.release).toBe('prometheus')
    expect(monitor.spec.endpoints).toEqual([
      {
        port: 'http',
        path: '/metrics',
        interval: '15s',
        authorization: { type: 'Bearer', credentials: { name: 'metrics-token', key: 'token' } },
      },
    ])
    const args: string[] = only(manifests, 'StatefulSet').spec.template.spec.containers[0].args
    expect(args).toContain('--http-token-file=/etc/kubestream/http/token')
  })

  it('grants sources limited to namespaces a Role in each, and leases where the topology elects', async () => {
    const topology = join(scratch, 'shop-events.yaml')
    writeFileSync(
      topology,
      readFileSync(example('events-persist'), 'utf8').replace(
        'resource: ${EVENTS_API:-events}',
        'resource: ${EVENTS_API:-events}\n        namespaces: [shop, "${SECOND_NAMESPACE}"]',
      ),
    )
    const manifests = await render({
      files: { 'topology.text': topology },
      values: { env: { SECOND_NAMESPACE: 'web' } },
    })
    expect(find(manifests, 'ClusterRole')).toEqual([])
    const roles = find(manifests, 'Role').map((role) => [role.metadata.namespace, role.rules])
    expect(roles).toEqual([
      ['shop', [{ apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] }]],
      ['web', [{ apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] }]],
      [NAMESPACE, [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]],
    ])
  })
})

describeWithApiServer('the Helm chart against a real kube-apiserver', () => {
  let api: LocalApiServer
  beforeAll(async () => {
    api = await startLocalApiServer()
    const namespaces = [NAMESPACE, 'kafka']
    await createManifests(
      api.kubeconfig('admin'),
      [
        ...namespaces.map((name) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${name} }\n`),
        readFileSync('test/fixtures/crds/stand-in-crds.yaml', 'utf8'),
      ].join('---\n'),
    )
  }, 180_000)
  afterAll(async () => api?.stop())

  it('renders objects the apiserver accepts for every example and option (server-side dry-run)', async () => {
    const releases: Array<Parameters<typeof render>[0]> = [
      ...EXAMPLES.map((name) => ({ example: name })),
      { name: 'flows-ingest', example: 'network-flows', values: { workload: 'daemonset' } },
      {
        example: 'warning-counts',
        name: 'secured',
        values: {
          'kafka.clusterCaSecret': 'my-cluster-cluster-ca-cert',
          'kafka.user': { name: 'counts-user', authentication: 'scram-sha-512' },
          kafkaTopics: { create: true, namespace: 'kafka', topics: [{ name: 'warning-counts' }] },
          serviceMonitor: { enabled: true },
          'http.tokenSecret': 'metrics-token',
          'persistence.storageClassName': 'fast',
        },
      },
    ]
    for (const release of releases) {
      const manifests = await render(release)
      await createManifests(api.kubeconfig('admin'), manifests.map((m) => JSON.stringify(m)).join('\n---\n'), {
        dryRun: true,
      })
    }
  })

  it("gives each release's service account exactly what its topology's sources use", async () => {
    const config = new KubeConfig()
    config.loadFromFile(api.kubeconfig('admin'))
    const authorization = config.makeApiClient(AuthorizationV1Api)
    const accountOf = async (release: Parameters<typeof render>[0]) => {
      const manifests = await render(release)
      const access = manifests.filter((m) => /^(ServiceAccount|(Cluster)?Role(Binding)?)$/.test(m.kind))
      await createManifests(api.kubeconfig('admin'), access.map((m) => JSON.stringify(m)).join('\n---\n'))
      return only(manifests, 'ServiceAccount').metadata.name
    }
    const can = async (account: string, verb: string, resource: string, group = '', namespace?: string) =>
      (
        await authorization.createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${NAMESPACE}:${account}`,
              groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'],
              resourceAttributes: { verb, resource, group, namespace },
            },
          },
        })
      ).status!.allowed
    const everything = [
      ['events', ''],
      ['events', 'events.k8s.io'],
      ['pods', ''],
      ['services', ''],
      ['nodes', ''],
      ['replicasets', 'apps'],
      ['secrets', ''],
      ['configmaps', ''],
    ]
    const expectations: Array<[Parameters<typeof render>[0], string[], boolean]> = [
      [{ example: 'events-persist' }, ['/events'], true],
      [
        { name: 'events-v1', example: 'events-persist', values: { env: { EVENTS_API: 'events.k8s.io' } } },
        ['events.k8s.io/events'],
        true,
      ],
      [{ example: 'cluster-tables' }, ['/pods', '/services', '/nodes', 'apps/replicasets'], true],
      [{ example: 'warning-counts' }, [], false],
    ]
    for (const [release, granted, leases] of expectations) {
      const account = await accountOf(release)
      for (const [resource, group] of everything) {
        const expected = granted.includes(`${group}/${resource}`)
        for (const verb of ['list', 'watch'])
          expect(await can(account, verb, resource, group), `${account}: ${verb} ${group}/${resource}`).toBe(expected)
        for (const verb of ['get', 'create', 'update', 'delete'])
          expect(await can(account, verb, resource, group), `${account}: ${verb} ${group}/${resource}`).toBe(false)
      }
      for (const verb of ['get', 'create', 'update'])
        expect(await can(account, verb, 'leases', 'coordination.k8s.io', NAMESPACE), `${account}: ${verb} leases`).toBe(
          leases,
        )
      expect(await can(account, 'delete', 'leases', 'coordination.k8s.io', NAMESPACE)).toBe(false)
      expect(await can(account, 'get', 'leases', 'coordination.k8s.io', 'kube-system')).toBe(false)
    }
  })
})
