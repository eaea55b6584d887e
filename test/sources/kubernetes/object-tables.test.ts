import { describe, expect, it } from 'vitest'
import type { KubeObject } from '../../../connectors/kubernetes/list-watch.js'
import {
  nodeRows,
  podRows,
  replicaSetOwner,
  serviceRows,
  workloadOf,
} from '../../../sources/kubernetes/object-tables.js'

const object = (
  name: string,
  extra: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): KubeObject => ({
  metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: '1', ...metadata },
  ...extra,
})
const owned = (kind: string, name: string) => ({
  ownerReferences: [{ apiVersion: 'apps/v1', kind, name, uid: 'x', controller: true }],
})
const none = () => undefined

describe('podRows', () => {
  it('keys a dual-stack pod by each of its IPs', () => {
    const pod = object('web', {
      spec: { nodeName: 'n1' },
      status: { phase: 'Running', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }, { ip: 'fd00::5' }] },
    })
    expect(podRows(pod, none)).toMatchObject({
      keys: ['10.1.0.5', 'fd00::5'],
      value: { ip: '10.1.0.5', node: 'n1', hostNetwork: false },
    })
  })

  it('has no key while pending without an IP, nor once finished', () => {
    expect(podRows(object('pending', { spec: {}, status: { phase: 'Pending' } }), none).keys).toEqual([])
    for (const phase of ['Succeeded', 'Failed'])
      expect(podRows(object('job', { spec: {}, status: { phase, podIP: '10.1.0.9' } }), none).keys).toEqual([])
  })

  it("keys a hostNetwork pod by name, never by its node's IP", () => {
    const pod = object('agent', { spec: { hostNetwork: true }, status: { phase: 'Running', podIP: '192.168.0.11' } })
    expect(podRows(pod, none)).toMatchObject({ keys: ['shop/agent'], value: { ip: '192.168.0.11', hostNetwork: true } })
  })

  it('defaults container port protocols and leaves workload out for a pod without owner', () => {
    const pod = object('solo', {
      spec: {
        containers: [
          { name: 'c', image: 'i:1', ports: [{ containerPort: 53, protocol: 'UDP' }, { containerPort: 80 }] },
        ],
      },
      status: { podIP: '10.1.0.7' },
    })
    const { value } = podRows(pod, none)
    expect(value.workload).toBeUndefined()
    expect(value.containers).toEqual([
      {
        name: 'c',
        image: 'i:1',
        ports: [
          { name: null, containerPort: 53, protocol: 'UDP' },
          { name: null, containerPort: 80, protocol: 'TCP' },
        ],
      },
    ])
  })
})

describe('workloadOf', () => {
  const replicaSets = new Map([
    ['shop/web-5d4f8', { kind: 'Deployment', name: 'web' }],
    ['shop/bare', null],
  ])
  it("names a ReplicaSet's Deployment, a bare ReplicaSet itself, other controllers directly", () => {
    expect(workloadOf(object('p', {}, owned('ReplicaSet', 'web-5d4f8')), replicaSets)).toEqual({
      kind: 'Deployment',
      name: 'web',
    })
    expect(workloadOf(object('p', {}, owned('ReplicaSet', 'bare')), replicaSets)).toEqual({
      kind: 'ReplicaSet',
      name: 'bare',
    })
    expect(workloadOf(object('p', {}, owned('Job', 'backup-29301')), replicaSets)).toEqual({
      kind: 'Job',
      name: 'backup-29301',
    })
    expect(workloadOf(object('p'), replicaSets)).toBeUndefined()
  })

  it('infers the Deployment of a ReplicaSet not seen from the pod-template-hash, and only then', () => {
    expect(
      workloadOf(
        object('p', {}, { ...owned('ReplicaSet', 'api-7c9d6'), labels: { 'pod-template-hash': '7c9d6' } }),
        replicaSets,
      ),
    ).toEqual({ kind: 'Deployment', name: 'api' })
    expect(
      workloadOf(
        object('p', {}, { ...owned('ReplicaSet', 'api-7c9d6'), labels: { 'pod-template-hash': 'other' } }),
        replicaSets,
      ),
    ).toEqual({ kind: 'ReplicaSet', name: 'api-7c9d6' })
  })

  it("reads a ReplicaSet's owner", () => {
    expect(replicaSetOwner(object('web-5d4f8', {}, owned('Deployment', 'web')))).toEqual({
      kind: 'Deployment',
      name: 'web',
    })
    expect(replicaSetOwner(object('bare'))).toBeNull()
  })
})

describe('serviceRows and nodeRows', () => {
  it('keys services by each ClusterIP; headless and ExternalName ones by name', () => {
    expect(
      serviceRows(
        object('web', {
          spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00:96::10'], ports: [{ port: 80 }] },
        }),
      ),
    ).toMatchObject({
      keys: ['10.96.0.10', 'fd00:96::10'],
      value: {
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        ports: [{ name: null, port: 80, protocol: 'TCP', targetPort: 80 }],
      },
    })
    expect(serviceRows(object('db', { spec: { clusterIP: 'None', clusterIPs: ['None'] } })).keys).toEqual(['shop/db'])
    expect(
      serviceRows(object('ext', { spec: { type: 'ExternalName', externalName: 'db.example.com' } })),
    ).toMatchObject({ keys: ['shop/ext'], value: { type: 'ExternalName', clusterIP: null } })
  })

  it('keys nodes by their InternalIPs only', () => {
    const node = object(
      'n1',
      {
        status: {
          addresses: [
            { type: 'InternalIP', address: '192.168.0.11' },
            { type: 'ExternalIP', address: '203.0.113.7' },
            { type: 'InternalIP', address: 'fd00::11' },
          ],
          nodeInfo: { kernelVersion: '6.8.0' },
        },
      },
      { namespace: undefined, labels: { zone: 'a' } },
    )
    expect(nodeRows(node)).toEqual({
      keys: ['192.168.0.11', 'fd00::11'],
      value: {
        name: 'n1',
        uid: 'uid-n1',
        kernelVersion: '6.8.0',
        labels: { zone: 'a' },
        internalIPs: ['192.168.0.11', 'fd00::11'],
      },
    })
  })
})
