import type { KubeObject } from '../../connectors/kubernetes/list-watch.js'

/** A workload that owns pods: the Deployment behind a ReplicaSet, else the pod's controller. */
export interface Workload {
  readonly kind: string
  readonly name: string
}

/**
 * The table rows one object stands for: a key per IP (several for dual-stack), or a name key
 * (`<namespace>/<name>`) where it has no IP of its own; none while it has no IP yet.
 */
export interface TableRows {
  readonly keys: readonly string[]
  readonly value: Record<string, unknown>
}

/** `pods-by-ip`: what network-flows joins a connection's IPs with. */
export function podRows(pod: KubeObject, workloadOf: (pod: KubeObject) => Workload | undefined): TableRows {
  const { metadata } = pod
  const spec = (pod.spec ?? {}) as PodSpec
  const status = (pod.status ?? {}) as PodStatus
  const hostNetwork = spec.hostNetwork === true
  const ips = podIPs(status)
  const workload = workloadOf(pod)
  const value: Record<string, unknown> = {
    name: metadata.name,
    namespace: metadata.namespace,
    uid: metadata.uid,
    node: spec.nodeName ?? null,
    ip: ips[0] ?? null,
    ...(workload ? { workload } : {}),
    labels: metadata.labels ?? {},
    hostNetwork,
    containers: (spec.containers ?? []).map((container) => ({
      name: container.name,
      image: container.image,
      ports: (container.ports ?? []).map((port) => ({
        name: port.name ?? null,
        containerPort: port.containerPort,
        protocol: port.protocol ?? 'TCP',
      })),
    })),
  }
  // A finished pod keeps status.podIP, but its IP is free again and may already be another pod's.
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return { keys: [], value }
  // A hostNetwork pod's IP is its node's (nodes-by-ip has it) and every hostNetwork pod's on that
  // node: keyed by name, so it never claims the IP.
  if (hostNetwork) return { keys: ips.length > 0 ? [nameKey(pod)] : [], value }
  return { keys: ips, value }
}

/** `services-by-ip`: by ClusterIP(s); headless and ExternalName services by name. */
export function serviceRows(service: KubeObject): TableRows {
  const spec = (service.spec ?? {}) as ServiceSpec
  const ips = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip && ip !== 'None')
  const value = {
    name: service.metadata.name,
    namespace: service.metadata.namespace,
    type: spec.type ?? 'ClusterIP',
    clusterIP: ips[0] ?? null,
    ports: (spec.ports ?? []).map((port) => ({
      name: port.name ?? null,
      port: port.port,
      protocol: port.protocol ?? 'TCP',
      targetPort: port.targetPort ?? port.port,
    })),
    selector: spec.selector ?? {},
  }
  return { keys: ips.length > 0 ? ips : [nameKey(service)], value }
}

/** `nodes-by-ip`: by InternalIP(s). */
export function nodeRows(node: KubeObject): TableRows {
  const status = (node.status ?? {}) as NodeStatus
  const ips = (status.addresses ?? [])
    .filter((address) => address.type === 'InternalIP')
    .map((address) => address.address)
  const value = {
    name: node.metadata.name,
    uid: node.metadata.uid,
    kernelVersion: status.nodeInfo?.kernelVersion ?? null,
    labels: node.metadata.labels ?? {},
    internalIPs: ips,
  }
  return { keys: ips, value }
}

/**
 * Resolves a pod's owner to its workload, as a kubectl user names it: a ReplicaSet's Deployment
 * (from the ReplicaSet's own ownerReferences, which `replicaSets` holds), else the controller
 * itself (StatefulSet, DaemonSet, Job, a bare ReplicaSet). A ReplicaSet not seen (yet) whose
 * name is `<deployment>-<the pod's pod-template-hash>` is taken to be that Deployment's.
 */
export function workloadOf(pod: KubeObject, replicaSets: ReadonlyMap<string, Workload | null>): Workload | undefined {
  const owner = controllerOf(pod)
  if (!owner) return undefined
  if (owner.kind !== 'ReplicaSet') return { kind: owner.kind, name: owner.name }
  const known = replicaSets.get(`${pod.metadata.namespace}/${owner.name}`)
  if (known !== undefined) return known ?? { kind: 'ReplicaSet', name: owner.name }
  const hash = (pod.metadata.labels as Record<string, string> | undefined)?.['pod-template-hash']
  if (hash && owner.name.endsWith(`-${hash}`))
    return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) }
  return { kind: 'ReplicaSet', name: owner.name }
}

/** The Deployment that controls a ReplicaSet, or null for a bare one. */
export function replicaSetOwner(replicaSet: KubeObject): Workload | null {
  const owner = controllerOf(replicaSet)
  return owner ? { kind: owner.kind, name: owner.name } : null
}

function controllerOf(object: KubeObject): { kind: string; name: string } | undefined {
  const owners = (object.metadata.ownerReferences ?? []) as Array<{ kind: string; name: string; controller?: boolean }>
  return owners.find((owner) => owner.controller) ?? owners[0]
}

function podIPs(status: PodStatus): string[] {
  const ips = (status.podIPs ?? []).map((entry) => entry.ip).filter(Boolean)
  if (ips.length === 0 && status.podIP) ips.push(status.podIP)
  return ips
}

function nameKey(object: KubeObject): string {
  return `${object.metadata.namespace}/${object.metadata.name}`
}

interface PodSpec {
  nodeName?: string
  hostNetwork?: boolean
  containers?: Array<{
    name: string
    image?: string
    ports?: Array<{ name?: string; containerPort: number; protocol?: string }>
  }>
}
interface PodStatus {
  phase?: string
  podIP?: string
  podIPs?: Array<{ ip: string }>
}
interface ServiceSpec {
  type?: string
  clusterIP?: string
  clusterIPs?: string[]
  selector?: Record<string, string>
  ports?: Array<{ name?: string; port: number; protocol?: string; targetPort?: number | string }>
}
interface NodeStatus {
  addresses?: Array<{ type: string; address: string }>
  nodeInfo?: { kernelVersion?: string }
}
