import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { loadTopologyFile } from '../../topology/load.js'

const dir = new URL('../../deploy/kubernetes/network-flows/', import.meta.url)
type Manifest = { kind: string; metadata: { name: string }; spec: any }
const manifests: Manifest[] = ['daemonset.yaml', 'statefulset.yaml', 'namespace.yaml', 'kafka-topics.yaml'].flatMap(
  (file) => parseAllDocuments(readFileSync(new URL(file, dir), 'utf8')).map((doc) => doc.toJS() as Manifest),
)
const workload = (kind: string) => manifests.find((m) => m.kind === kind)!
const container = (kind: string) => workload(kind).spec.template.spec.containers[0]
/**
 * The container's environment as the kubelet would give it: $(VAR) expanded, fieldRefs as a node and pod would have
 * them.
 */
const environment = (kind: string): Record<string, string> => {
  const env: Record<string, string> = { NODE_NAME: 'node-7', POD_NAME: 'network-flows-1' }
  for (const { name, value } of container(kind).env)
    if (value !== undefined) env[name] = String(value).replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? '')
  return env
}
/** The topology a container runs: the image holds the repository's examples under /app. */
const topologyOf = (kind: string) => {
  const args: string[] = container(kind).args
  expect(args[0]).toBe('run')
  expect(args[1]).toMatch(/^\/app\/examples\//)
  return { graph: loadTopologyFile(args[1].replace('/app/', ''), environment(kind)), args }
}

describe('deploy/kubernetes/network-flows', () => {
  it('runs the tracer ingest on every node, reading the socket it mounts from the host', () => {
    const { graph, args } = topologyOf('DaemonSet')
    expect(args.join(' ')).toContain('--ingest only')
    const tracer = graph.sources.find((s) => s.tracer)!
    const mounts: Array<{ name: string; mountPath: string }> = container('DaemonSet').volumeMounts
    const volumes: Array<{ name: string; hostPath?: { path: string } }> =
      workload('DaemonSet').spec.template.spec.volumes
    const socketMount = mounts.find((m) => tracer.tracer!.address.startsWith(`${m.mountPath}/`))
    expect(socketMount, `a volume mounted over ${tracer.tracer!.address}`).toBeDefined()
    expect(volumes.find((v) => v.name === socketMount!.name)?.hostPath).toBeDefined()
    expect(tracer.topic).toBe('network-connections')
    expect(tracer.tracer!.node ?? environment('DaemonSet').NODE_NAME).toBe('node-7')
    // The counters must outlive the pod: the state dir is on the host.
    const stateMount = mounts.find((m) => m.mountPath === environment('DaemonSet').KUBESTREAM_STATE_DIR)!
    expect(volumes.find((v) => v.name === stateMount.name)?.hostPath).toBeDefined()
    expect(environment('DaemonSet').KUBESTREAM_INSTANCE_ID).toBe('network-flows-ingest-node-7')
    expect(workload('DaemonSet').spec.template.spec.tolerations).toEqual([{ operator: 'Exists' }])
  })

  it('runs the windows and joins in a StatefulSet of the same application, on its own volumes', () => {
    const ingest = topologyOf('DaemonSet').graph
    const { graph, args } = topologyOf('StatefulSet')
    expect(args.join(' ')).toContain('--ingest off')
    expect(graph.applicationId).toBe(ingest.applicationId)
    expect(graph.sources.find((s) => s.tracer)!.topic).toBe(ingest.sources.find((s) => s.tracer)!.topic)
    expect(
      container('StatefulSet').env.find((e: { name: string }) => e.name === 'POD_NAME').valueFrom.fieldRef.fieldPath,
    ).toBe('metadata.name')
    const stateMount = container('StatefulSet').volumeMounts.find(
      (m: { mountPath: string }) => m.mountPath === environment('StatefulSet').KUBESTREAM_STATE_DIR,
    )
    expect(workload('StatefulSet').spec.volumeClaimTemplates.map((t: Manifest) => t.metadata.name)).toContain(
      stateMount.name,
    )
    expect(container('StatefulSet').readinessProbe.httpGet.path).toBe('/readyz')
  })

  it('declares every topic the topology reads and writes, tables compacted', () => {
    const topics = new Map(manifests.filter((m) => m.kind === 'KafkaTopic').map((m) => [m.metadata.name, m.spec]))
    const { graph } = topologyOf('StatefulSet')
    for (const source of graph.sources) expect(topics.has(source.topic), source.topic).toBe(true)
    for (const node of graph.nodes.values())
      if (node.kind === 'sink') expect(topics.has(node.topic.source), node.topic.source).toBe(true)
    for (const table of graph.sources.filter((s) => s.table))
      expect(topics.get(table.topic).config['cleanup.policy']).toBe('compact')
  })

  it('builds an image that holds the examples the manifests run', () => {
    expect(readFileSync(new URL('../../deploy/Dockerfile', import.meta.url), 'utf8')).toMatch(
      /^COPY examples \.\/examples$/m,
    )
  })
})
