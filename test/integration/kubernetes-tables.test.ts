import type { V1Pod } from '@kubernetes/client-node'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, expect, inject, it } from 'vitest'
import { KubeStream } from '../../runtime/kube-stream.js'
import { readTopics } from '../../simulators/kafka-topics.js'
import { loadTopologyFile } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import { describeWithApiServer, jsonOf, kubeApis, useApiServerWithSourceRbac } from '../support/kubernetes.js'

const brokers = inject('kafkaBrokers')
const dir = mkdtempSync(join(tmpdir(), 'kubestream-k8s-tables-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

type Row = Record<string, unknown> | null
/** Per topic, per key: every value landed, in order (null: a tombstone). */
type Landed = Record<string, Record<string, Row[]>>

describeWithApiServer('Kubernetes object tables against a real kube-apiserver', () => {
  const apiServer = useApiServerWithSourceRbac()

  /**
   * examples/cluster-tables.yaml, as its service account: pods (owners through ReplicaSets,
   * pending, hostNetwork, finished, an IP taken over by a new pod before the old one is
   * deleted), services (ClusterIP, headless) and nodes, changed while it runs and while it is
   * stopped. The topics hold exactly the model's rows and tombstones, once each; a change that
   * does not show in a row (a pod's conditions) lands nothing.
   */
  it('lands rows by IP and tombstones, once each, across a restart', async () => {
    const run = Date.now().toString(36)
    const topics = { pods: `pods-by-ip-${run}`, services: `services-by-ip-${run}`, nodes: `nodes-by-ip-${run}` }
    const { core, apps } = kubeApis(apiServer().kubeconfig('admin'))
    await core.createNamespace({ body: { metadata: { name: 'shop' } } })
    const env = {
      APPLICATION_ID: `tables-${run}`,
      KAFKA_BROKERS: brokers,
      KUBECONFIG: apiServer().kubeconfig('kubestream'),
      POD_NAMESPACE: 'kubestream',
      COMMIT_INTERVAL_MS: '200',
      PODS_TOPIC: topics.pods,
      SERVICES_TOPIC: topics.services,
      NODES_TOPIC: topics.nodes,
      TABLE_PARTITIONS: '2',
    }
    const graph = loadTopologyFile('examples/cluster-tables.yaml', env)
    const start = async () => {
      const stream = new KubeStream(graph, {
        stateDir: join(dir, 'state'),
        instanceId: 'tables-0',
        logger: pino({ level: 'warn' }),
      })
      await stream.start()
      return stream
    }

    const expected: Landed = { [topics.pods]: {}, [topics.services]: {}, [topics.nodes]: {} }
    const expect_ = (topic: string, key: string, row: Row) => {
      ;(expected[topic][key] ??= []).push(row)
    }

    // A node, by its InternalIP.
    await core.createNode({ body: { metadata: { name: 'n1', labels: { zone: 'a' } } } })
    const node = await core.readNode({ name: 'n1' })
    node.status = {
      addresses: [
        { type: 'InternalIP', address: '192.168.0.11' },
        { type: 'Hostname', address: 'n1' },
      ],
      nodeInfo: {
        kernelVersion: '6.8.0-45-generic',
        machineID: 'm',
        systemUUID: 's',
        bootID: 'b',
        osImage: 'Debian',
        containerRuntimeVersion: 'containerd://2.0',
        kubeletVersion: 'v1.37.1',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    }
    const n1 = await core.replaceNodeStatus({ name: 'n1', body: node })
    expect_(topics.nodes, '192.168.0.11', {
      name: 'n1',
      uid: n1.metadata!.uid,
      kernelVersion: '6.8.0-45-generic',
      labels: { zone: 'a' },
      internalIPs: ['192.168.0.11'],
    })

    // Workloads: a Deployment's ReplicaSet (the Deployment itself need not exist: no controllers run here).
    await apps.createNamespacedReplicaSet({
      namespace: 'shop',
      body: {
        metadata: {
          name: 'web-5d4f8',
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'web',
              uid: '00000000-0000-0000-0000-00000000d001',
              controller: true,
            },
          ],
        },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: 'shop/web:1' }] },
          },
        },
      },
    })

    const uids = new Map<string, string>()
    const owner = (kind: string, name: string) => [
      {
        apiVersion: 'apps/v1',
        kind,
        name,
        uid: `00000000-0000-0000-0000-${name.length.toString().padStart(12, '0')}`,
        controller: true,
      },
    ]
    const createPod = async (
      name: string,
      options: {
        labels?: Record<string, string>
        owners?: ReturnType<typeof owner>
        hostNetwork?: boolean
        ip?: string
        phase?: string
      },
    ) => {
      const pod = await core.createNamespacedPod({
        namespace: 'shop',
        body: {
          metadata: { name, labels: options.labels ?? {}, ownerReferences: options.owners },
          spec: {
            nodeName: 'n1',
            hostNetwork: options.hostNetwork,
            containers: [{ name: 'app', image: `shop/${name}:1`, ports: [{ name: 'http', containerPort: 8080 }] }],
          },
        },
      })
      uids.set(name, pod.metadata!.uid!)
      if (options.ip)
        await setStatus(name, { phase: options.phase ?? 'Running', podIP: options.ip, podIPs: [{ ip: options.ip }] })
    }
    const setStatus = async (name: string, status: V1Pod['status']) => {
      const pod = await core.readNamespacedPod({ namespace: 'shop', name })
      await core.replaceNamespacedPodStatus({
        namespace: 'shop',
        name,
        body: { ...pod, status: { ...pod.status, ...status } },
      })
    }
    // No kubelet confirms a graceful deletion here: delete at once, as a kubelet would once the pod stopped.
    const deletePod = (name: string) => core.deleteNamespacedPod({ namespace: 'shop', name, gracePeriodSeconds: 0 })
    const podRow = (
      name: string,
      ip: string | null,
      extra: { workload?: { kind: string; name: string }; labels?: Record<string, string>; hostNetwork?: boolean } = {},
    ) => ({
      name,
      namespace: 'shop',
      uid: uids.get(name),
      node: 'n1',
      ip,
      ...(extra.workload ? { workload: extra.workload } : {}),
      labels: extra.labels ?? {},
      hostNetwork: extra.hostNetwork ?? false,
      containers: [
        { name: 'app', image: `shop/${name}:1`, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
      ],
    })

    await createPod('web-5d4f8-aaaaa', {
      labels: { app: 'web', 'pod-template-hash': '5d4f8' },
      owners: owner('ReplicaSet', 'web-5d4f8'),
      ip: '10.244.1.10',
    })
    expect_(
      topics.pods,
      '10.244.1.10',
      podRow('web-5d4f8-aaaaa', '10.244.1.10', {
        workload: { kind: 'Deployment', name: 'web' },
        labels: { app: 'web', 'pod-template-hash': '5d4f8' },
      }),
    )
    await createPod('db-0', { owners: owner('StatefulSet', 'db'), ip: '10.244.1.11' })
    expect_(
      topics.pods,
      '10.244.1.11',
      podRow('db-0', '10.244.1.11', { workload: { kind: 'StatefulSet', name: 'db' } }),
    )
    // A ReplicaSet not seen: its name and the pod's pod-template-hash give the Deployment.
    await createPod('api-7c9d6-bbbbb', {
      labels: { 'pod-template-hash': '7c9d6' },
      owners: owner('ReplicaSet', 'api-7c9d6'),
      ip: '10.244.1.14',
    })
    expect_(
      topics.pods,
      '10.244.1.14',
      podRow('api-7c9d6-bbbbb', '10.244.1.14', {
        workload: { kind: 'Deployment', name: 'api' },
        labels: { 'pod-template-hash': '7c9d6' },
      }),
    )
    await createPod('pending', {})
    await createPod('agent', { hostNetwork: true, ip: '192.168.0.11' })
    expect_(topics.pods, 'shop/agent', podRow('agent', '192.168.0.11', { hostNetwork: true }))
    await createPod('job-done', { ip: '10.244.1.13', phase: 'Succeeded' })

    // The apiserver's own Service.
    const kubernetes = await core.readNamespacedService({ namespace: 'default', name: 'kubernetes' })
    const ip = kubernetes.spec!.clusterIP!
    expect_(topics.services, ip, {
      name: 'kubernetes',
      namespace: 'default',
      type: 'ClusterIP',
      clusterIP: ip,
      ports: kubernetes.spec!.ports!.map((p) => ({
        name: p.name,
        port: p.port,
        protocol: p.protocol,
        targetPort: p.targetPort,
      })),
      selector: {},
    })
    const web = await core.createNamespacedService({
      namespace: 'shop',
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    })
    const webIP = web.spec!.clusterIP!
    expect_(topics.services, webIP, {
      name: 'web',
      namespace: 'shop',
      type: 'ClusterIP',
      clusterIP: webIP,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      selector: { app: 'web' },
    })
    await core.createNamespacedService({
      namespace: 'shop',
      body: {
        metadata: { name: 'db' },
        spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] },
      },
    })
    expect_(topics.services, 'shop/db', {
      name: 'db',
      namespace: 'shop',
      type: 'ClusterIP',
      clusterIP: null,
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP', targetPort: 5432 }],
      selector: { app: 'db' },
    })

    const landed = async (): Promise<Landed> => {
      const out: Landed = { [topics.pods]: {}, [topics.services]: {}, [topics.nodes]: {} }
      for (const message of (await readTopics(brokers, Object.values(topics), { readCommitted: true })).sort(
        (a, b) => a.offset - b.offset,
      )) {
        ;(out[message.topic][message.key!] ??= []).push(jsonOf(message))
      }
      return out
    }
    const total = (rows: Landed) =>
      Object.values(rows)
        .flatMap((byKey) => Object.values(byKey))
        .reduce((sum, values) => sum + values.length, 0)
    const settled = async (step: string) => {
      // On a timeout the comparison below shows what is missing.
      await waitFor(
        `${total(expected)} rows (${step})`,
        async () => total(await landed()) >= total(expected),
        30_000,
        300,
      ).catch(() => undefined)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(await landed(), step).toEqual(expected)
    }

    let stream = await start()
    await settled('initial lists')

    // Conditions change, the row does not: nothing lands.
    await setStatus('web-5d4f8-aaaaa', { conditions: [{ type: 'Ready', status: 'True' }] })
    await createPod('web-5d4f8-ccccc', {
      labels: { app: 'web', 'pod-template-hash': '5d4f8' },
      owners: owner('ReplicaSet', 'web-5d4f8'),
    })
    // The pending pod gets its IP.
    await setStatus('pending', { phase: 'Running', podIP: '10.244.1.12', podIPs: [{ ip: '10.244.1.12' }] })
    expect_(topics.pods, '10.244.1.12', podRow('pending', '10.244.1.12'))
    // A new pod takes 10.244.1.10 before the old pod's deletion arrives: the deletion must not erase it.
    await setStatus('web-5d4f8-ccccc', { phase: 'Running', podIP: '10.244.1.10', podIPs: [{ ip: '10.244.1.10' }] })
    expect_(
      topics.pods,
      '10.244.1.10',
      podRow('web-5d4f8-ccccc', '10.244.1.10', {
        workload: { kind: 'Deployment', name: 'web' },
        labels: { app: 'web', 'pod-template-hash': '5d4f8' },
      }),
    )
    await deletePod('web-5d4f8-aaaaa')
    await deletePod('api-7c9d6-bbbbb')
    expect_(topics.pods, '10.244.1.14', null)
    await core.deleteNamespacedService({ namespace: 'shop', name: 'web' })
    expect_(topics.services, webIP, null)
    await settled('watched changes')

    // Changes while stopped land after the restart, once; nothing else lands again.
    await stream.stop()
    await deletePod('db-0')
    expect_(topics.pods, '10.244.1.11', null)
    const db = await core.readNamespacedPod({ namespace: 'shop', name: 'pending' })
    await core.replaceNamespacedPod({
      namespace: 'shop',
      name: 'pending',
      body: { ...db, metadata: { ...db.metadata, labels: { tier: 'batch' } } },
    })
    expect_(topics.pods, '10.244.1.12', podRow('pending', '10.244.1.12', { labels: { tier: 'batch' } }))
    await setStatus('job-done', { phase: 'Failed' })
    stream = await start()
    await settled('restart')
    await stream.stop()
  }, 240_000)

  /** The per-node deployment: NODE_NAME set, only that node's pods, and no lease to wait for. */
  it('watches only the pods of its node in the node-scoped mode', async () => {
    const run = Date.now().toString(36)
    const namespace = `nodes-${run}`
    const topic = `pods-by-ip-node-${run}`
    const { core } = kubeApis(apiServer().kubeconfig('admin'))
    await core.createNamespace({ body: { metadata: { name: namespace } } })
    for (const [name, node, ip] of [
      ['on-n3', 'n3', '10.244.3.50'],
      ['on-n4', 'n4', '10.244.4.50'],
    ]) {
      await core.createNamespacedPod({
        namespace,
        body: { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'app', image: 'app:1' }] } },
      })
      const pod = await core.readNamespacedPod({ namespace, name })
      await core.replaceNamespacedPodStatus({
        namespace,
        name,
        body: { ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } },
      })
    }
    const graph = loadTopologyFile('examples/cluster-tables.yaml', {
      APPLICATION_ID: `tables-node-${run}`,
      KAFKA_BROKERS: brokers,
      KUBECONFIG: apiServer().kubeconfig('kubestream'),
      NODE_NAME: 'n3',
      PODS_TOPIC: topic,
      SERVICES_TOPIC: `services-${run}`,
      NODES_TOPIC: `nodes-${run}`,
      COMMIT_INTERVAL_MS: '200',
      POD_NAMESPACE: 'kubestream',
    })
    const pods = graph.sources.find((s) => s.name === 'pods')!.kubernetes!
    expect([pods.node, pods.lease, pods.changelogTopic]).toEqual(['n3', undefined, undefined])
    const stream = new KubeStream(graph, { stateDir: join(dir, `node-${run}`), logger: pino({ level: 'warn' }) })
    await stream.start()
    const landed = async () =>
      (await readTopics(brokers, [topic], { readCommitted: true })).map((m) => [m.key, jsonOf(m).name, jsonOf(m).node])
    await waitFor("the node's pod", async () => (await landed()).length > 0, 30_000, 300)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    await stream.stop()
    expect(await landed()).toEqual([['10.244.3.50', 'on-n3', 'n3']])
  }, 120_000)
})
