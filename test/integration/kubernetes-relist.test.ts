import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, expect, inject, it } from 'vitest'
import { KubeStream } from '../../runtime/kube-stream.js'
import { readTopics } from '../../simulators/kafka-topics.js'
import { loadTopology } from '../../topology/load.js'
import { waitFor } from '../support/engine-process.js'
import { FakeKubeApi, kubeObject, sendList, startWatch, watchLine } from '../support/fake-kube-api.js'
import { jsonOf } from '../support/kubernetes.js'

const brokers = inject('kafkaBrokers')
const dir = mkdtempSync(join(tmpdir(), 'kubestream-relist-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const event = (uid: string, rv: string, count: number) =>
  kubeObject(uid, rv, {
    kind: 'Event',
    reason: 'BackOff',
    count,
    lastTimestamp: new Date(Date.UTC(2026, 10, 20, 9, count)).toISOString(),
  })

/** A topology landing the fake apiserver's events in `topic`, with one more setting of the source. */
function eventsTopology(name: string, api: FakeKubeApi, topic: string, setting: string) {
  return loadTopology(
    `
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: ${name} }
spec:
  kafka: { bootstrapServers: "${brokers}" }
  processing: { guarantee: at_least_once, commitIntervalMs: 100 }
  sources:
    - name: events
      kubernetes:
        resource: events
        kubeconfig: "${api.kubeconfig(dir)}"
        leaderElection: false
        ${setting}
        topic: ${topic}
        partitions: 1
`,
    `${name}.yaml`,
    {},
  )
}

/**
 * A 410 Gone in the middle of the watch (the fake apiserver's: a real one cannot be made to
 * send it on demand): the source lists again and lands only the difference with what it had
 * landed — the changed event as UPDATED, the one that went away meanwhile as DELETED, the new
 * one as ADDED, nothing for the unchanged one. A restart then lands nothing at all.
 */
it('after a 410 Gone, re-lists and lands only what is new, changed or gone', async () => {
  const run = Date.now().toString(36)
  const topic = `relist-events-${run}`
  const lists = [
    [[event('a', '1', 1), event('b', '2', 1), event('c', '3', 1)], '10'],
    [[event('a', '1', 1), event('b', '12', 3), event('d', '13', 1)], '20'],
  ] as const
  let listed = 0
  const api = new FakeKubeApi((req, res) => {
    if (req.query.get('watch') !== '1') {
      const [items, rv] = lists[Math.min(listed++, lists.length - 1)]
      return sendList(res, [...items], rv)
    }
    startWatch(res)
    if (req.query.get('resourceVersion') === '10') {
      watchLine(res, 'MODIFIED', event('b', '11', 2))
      setTimeout(
        () =>
          watchLine(res, 'ERROR', {
            kind: 'Status',
            code: 410,
            reason: 'Expired',
            message: 'too old resource version',
          }),
        300,
      )
    }
  })
  await api.start()
  const graph = eventsTopology(`relist-${run}`, api, topic, 'maxBackoff: 200ms')
  const start = async () => {
    const stream = new KubeStream(graph, { stateDir: join(dir, 'state'), logger: pino({ level: 'warn' }) })
    await stream.start()
    return stream
  }
  const landed = async () =>
    (await readTopics(brokers, [topic]))
      .sort((x, y) => x.offset - y.offset)
      .map((m) => {
        const { verb, event: e, old_event: old } = jsonOf(m)
        return `${verb} ${m.key} ${e.count}${old ? ` (was ${old.count})` : ''}`
      })
  const expected = [
    'ADDED a 1',
    'ADDED b 1',
    'ADDED c 1',
    'UPDATED b 2 (was 1)',
    'UPDATED b 3 (was 2)',
    'ADDED d 1',
    'DELETED c 1',
  ]

  let stream = await start()
  await waitFor('the second list', async () => (await landed()).length >= expected.length, 20_000, 100)
  await new Promise((resolve) => setTimeout(resolve, 500))
  expect(await landed()).toEqual(expected)
  await stream.stop()

  // A restart lists again (the same objects): nothing lands.
  stream = await start()
  await waitFor('the list after the restart', () => listed >= 3 && api.watches.length >= 3, 20_000, 50)
  await new Promise((resolve) => setTimeout(resolve, 800))
  await stream.stop()
  expect(await landed()).toEqual(expected)
  await api.stop()
})

/**
 * A resource that changes nothing for longer than the idle timeout (a quiet cluster): the watch
 * resumes from the last resourceVersion it saw, without a warning, without a list and without
 * landing anything again.
 */
it('resumes a quiet watch where it was: no warning, no list, nothing landed again', async () => {
  const run = Date.now().toString(36)
  const topic = `quiet-events-${run}`
  let lists = 0
  const api = new FakeKubeApi((req, res) => {
    if (req.query.get('watch') !== '1') {
      lists++
      return sendList(res, [event('a', '1', 1), event('b', '2', 1)], '5')
    }
    startWatch(res)
    if (req.query.get('resourceVersion') === '5') watchLine(res, 'MODIFIED', event('b', '6', 2))
    // Then nothing: the stream stays open and silent.
  })
  await api.start()
  const graph = eventsTopology(`quiet-${run}`, api, topic, 'idleTimeout: 300ms')
  const warnings: string[] = []
  const stream = new KubeStream(graph, {
    stateDir: join(dir, `quiet-${run}`),
    logger: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }),
  })
  await stream.start()
  // Five quiet spells of 300 ms after the one change.
  await waitFor('the watch resumed five times', () => api.watches.length >= 6, 20_000, 50)
  await stream.stop()
  await api.stop()
  expect(lists).toBe(1)
  expect(api.watches.slice(1).map((watch) => watch.query.get('resourceVersion'))).toEqual(
    api.watches.slice(1).map(() => '6'),
  )
  expect(warnings).toEqual([])
  const landed = (await readTopics(brokers, [topic])).map((m) => `${jsonOf(m).verb} ${m.key}`)
  expect(landed).toEqual(['ADDED a', 'ADDED b', 'UPDATED b'])
})
