import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, expect, inject, it } from 'vitest'
import { localApiRequest } from '../../deploy/local/kube-apiserver.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { readTopics } from '../../simulators/kafka-topics.js'
import { loadTopologyFile } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import { describeWithApiServer, jsonOf, kubeApis, useApiServerWithSourceRbac } from '../support/kubernetes.js'

const brokers = inject('kafkaBrokers')
const dir = mkdtempSync(join(tmpdir(), 'kubestream-k8s-events-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** events.k8s.io times are MicroTime, which the apiserver parses only with six fraction digits. */
const microTime = () => new Date().toISOString().replace(/Z$/, '000Z')

/** What a consumer of cluster-events sees of one landed envelope. */
interface Landed {
  uid: string
  verb: string
  name: string
  count: number
  oldCount?: number
}

describeWithApiServer('Kubernetes events source against a real kube-apiserver', () => {
  const apiServer = useApiServerWithSourceRbac()

  /**
   * examples/events-persist.yaml, as its service account. Events are created, repeated (count
   * patched) and deleted while a replica runs; while it is stopped; across a hand-over to a
   * second replica through the Lease; and across a restart of the apiserver. After each step the
   * topic holds exactly the model's envelopes: each change once, nothing for what did not change.
   */
  it('lands every change exactly once across restarts, a hand-over and an apiserver restart', async () => {
    const run = Date.now().toString(36)
    const topic = `cluster-events-${run}`
    const { core } = kubeApis(apiServer().kubeconfig('admin'))
    for (const namespace of ['shop', 'payments'])
      await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined)
    const env = {
      APPLICATION_ID: `events-${run}`,
      KAFKA_BROKERS: brokers,
      KUBECONFIG: apiServer().kubeconfig('kubestream'),
      EVENTS_TOPIC: topic,
      EVENTS_PARTITIONS: '3',
      COMMIT_INTERVAL_MS: '200',
      LEASE_DURATION: '3s',
      POD_NAMESPACE: 'kubestream',
    }
    const graph = loadTopologyFile('examples/events-persist.yaml', env)
    const replica = async (id: string) => {
      const stream = new KubeStream(graph, {
        stateDir: join(dir, id),
        instanceId: `events-${id}`,
        logger: pino({ level: 'warn' }),
      })
      await stream.start()
      return stream
    }

    const expected: Landed[] = []
    const counts = new Map<string, number>()
    const uids = new Map<string, string>()
    const create = async (namespace: string, name: string) => {
      const now = new Date()
      const event = await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name },
          involvedObject: { kind: 'Pod', namespace, name: name.split('.')[0] },
          reason: 'BackOff',
          message: `back-off ${name}`,
          type: 'Warning',
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: 'kubelet', host: 'node-1' },
        },
      })
      uids.set(name, event.metadata.uid!)
      counts.set(name, 1)
      expected.push({ uid: event.metadata.uid!, verb: 'ADDED', name, count: 1 })
    }
    const repeat = async (namespace: string, name: string) => {
      const event = await core.readNamespacedEvent({ namespace, name })
      const count = counts.get(name)! + 1
      await core.replaceNamespacedEvent({ namespace, name, body: { ...event, count, lastTimestamp: new Date() } })
      expected.push({ uid: uids.get(name)!, verb: 'UPDATED', name, count, oldCount: counts.get(name)! })
      counts.set(name, count)
    }
    const remove = async (namespace: string, name: string) => {
      await core.deleteNamespacedEvent({ namespace, name })
      expected.push({ uid: uids.get(name)!, verb: 'DELETED', name, count: counts.get(name)! })
    }
    const landed = async (): Promise<Landed[]> =>
      (await readTopics(brokers, [topic], { readCommitted: true }))
        .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
        .map((message) => {
          const envelope = jsonOf(message)
          expect(message.key).toBe(envelope.event.metadata.uid)
          expect([envelope.event.apiVersion, envelope.event.kind]).toEqual(['v1', 'Event'])
          return {
            uid: message.key!,
            verb: envelope.verb,
            name: envelope.event.metadata.name,
            count: envelope.event.count,
            ...(envelope.old_event ? { oldCount: envelope.old_event.count } : {}),
          }
        })
    /** The topic holds exactly what the model says, in order per event (a key's records share a partition). */
    const settled = async (step: string) => {
      await waitFor(
        `${expected.length} envelopes (${step})`,
        async () => (await landed()).length >= expected.length,
        60_000,
        300,
      )
      // Anything extra (a duplicate, a no-op) would come with the next commits: give them time.
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      const byUid = (records: Landed[]) => [...records].sort((a, b) => a.uid.localeCompare(b.uid))
      const actual = await landed()
      const perEvent = (records: Landed[]) =>
        Object.fromEntries(
          byUid(records).reduce((m, r) => m.set(r.name, [...(m.get(r.name) ?? []), r]), new Map<string, Landed[]>()),
        )
      expect(perEvent(actual), step).toEqual(perEvent(expected))
    }

    // Events that exist before kubestream first starts are landed once, as ADDED.
    await create('shop', 'web-1.a')
    await create('payments', 'api-1.a')
    // Never changes: every re-list has it, and it must never land again.
    await create('payments', 'steady.a')
    await repeat('shop', 'web-1.a')
    expected.splice(0, expected.length, ...expected.filter((r) => r.verb === 'ADDED'))
    expected.find((r) => r.name === 'web-1.a')!.count = 2
    let a = await replica('a')
    await settled('initial list')

    await repeat('shop', 'web-1.a')
    await repeat('shop', 'web-1.a')
    await create('shop', 'web-2.a')
    await remove('payments', 'api-1.a')
    await settled('watched changes')

    // Stopped: what changes meanwhile is landed after the restart, and nothing else.
    await a.stop()
    await repeat('shop', 'web-1.a')
    await create('payments', 'api-2.a')
    await remove('shop', 'web-2.a')
    a = await replica('a')
    await settled('restart')

    // A second replica waits on the lease; the first hands over when it stops.
    const b = await replica('b')
    await repeat('payments', 'api-2.a')
    await settled('second replica started')
    await a.stop()
    // The stopped leader released the lease (a refused release would leave it held until it
    // expires), and the other replica leads within 2 s of that.
    const released = Date.now()
    const lease = await localApiRequest(
      apiServer().kubeconfig('admin'),
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/kubestream/leases/events-${run}-events`,
    )
    expect(lease.spec.holderIdentity ?? null).not.toBe('events-a')
    const leads = /kubestream_source_leader\{[^}]*source="events"[^}]*\} 1/
    await waitFor('the second replica leads', async () => leads.test(await b.metrics.metrics()), 10_000, 20)
    expect(Date.now() - released).toBeLessThan(2_000)
    await repeat('payments', 'api-2.a')
    await create('shop', 'web-3.a')
    await settled('hand-over to the second replica')
    expect(await b.metrics.metrics()).toMatch(/kubestream_source_leader\{[^}]*source="events"[^}]*\} 1/)

    // The apiserver goes away and comes back: the watch resumes (or re-lists) and loses nothing.
    await repeat('shop', 'web-3.a')
    await settled('before the apiserver restart')
    await apiServer().restart(1_000)
    await repeat('shop', 'web-3.a')
    await create('payments', 'api-3.a')
    await remove('payments', 'api-2.a')
    await settled('apiserver restart')
    await b.stop()
  }, 300_000)

  /** events.k8s.io/v1: repeats are a series whose count grows; each one lands as an UPDATED. */
  it('lands events.k8s.io/v1 events with each series repeat as an UPDATED', async () => {
    const run = Date.now().toString(36)
    const topic = `cluster-events-v1-${run}`
    const { core } = kubeApis(apiServer().kubeconfig('admin'))
    const namespace = `probes-${run}`
    await core.createNamespace({ body: { metadata: { name: namespace } } })
    const graph = loadTopologyFile('examples/events-persist.yaml', {
      APPLICATION_ID: `events-v1-${run}`,
      KAFKA_BROKERS: brokers,
      KUBECONFIG: apiServer().kubeconfig('kubestream'),
      EVENTS_API: 'events.k8s.io',
      EVENTS_TOPIC: topic,
      EVENTS_PARTITIONS: '1',
      COMMIT_INTERVAL_MS: '200',
      POD_NAMESPACE: 'kubestream',
    })
    const stream = new KubeStream(graph, { stateDir: join(dir, `v1-${run}`), logger: pino({ level: 'warn' }) })
    await stream.start()
    const path = `/apis/events.k8s.io/v1/namespaces/${namespace}/events`
    const created = await localApiRequest(apiServer().kubeconfig('admin'), 'POST', path, {
      metadata: { name: 'api-1.probe' },
      eventTime: microTime(),
      reportingController: 'kubelet',
      reportingInstance: 'node-1',
      action: 'Probing',
      reason: 'Unhealthy',
      regarding: { kind: 'Pod', namespace, name: 'api-1' },
      note: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      type: 'Warning',
    })
    const landed = async () =>
      (await readTopics(brokers, [topic], { readCommitted: true }))
        .filter((m) => m.key === created.metadata.uid)
        .sort((x, y) => x.offset - y.offset)
        .map(jsonOf)
    // Repeats made before the source lists would be folded into its first ADDED: wait for that.
    await waitFor('the ADDED', async () => (await landed()).length >= 1, 30_000, 300)
    for (const count of [2, 3]) {
      const current = await localApiRequest(apiServer().kubeconfig('admin'), 'GET', `${path}/api-1.probe`)
      await localApiRequest(apiServer().kubeconfig('admin'), 'PUT', `${path}/api-1.probe`, {
        ...current,
        series: { count, lastObservedTime: microTime() },
      })
    }
    await waitFor('three envelopes', async () => (await landed()).length >= 3, 30_000, 300)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    await stream.stop()
    const envelopes = await landed()
    expect(
      envelopes.map((e) => [
        e.verb,
        e.event.series?.count ?? 1,
        e.old_event?.series?.count ?? (e.old_event ? 1 : undefined),
      ]),
    ).toEqual([
      ['ADDED', 1, undefined],
      ['UPDATED', 2, 1],
      ['UPDATED', 3, 2],
    ])
    expect(
      envelopes.every(
        (e) => e.event.apiVersion === 'events.k8s.io/v1' && e.event.note.startsWith('Readiness probe failed'),
      ),
    ).toBe(true)
  }, 120_000)
})
