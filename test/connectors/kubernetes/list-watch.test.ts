import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, it } from 'vitest'
import { KubeClient } from '../../../connectors/kubernetes/kube-client.js'
import type { KubernetesError } from '../../../connectors/kubernetes/kubernetes-error.js'
import { ListWatch, type WatchChange } from '../../../connectors/kubernetes/list-watch.js'
import { waitFor } from '../../support/engine-process.js'
import {
  type FakeHandler,
  FakeKubeApi,
  kubeObject,
  sendList,
  startWatch,
  watchLine,
} from '../../support/fake-kube-api.js'

const dir = mkdtempSync(join(tmpdir(), 'kubestream-listwatch-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A ListWatch of /api/v1/events against a fake apiserver; what it reports, in order. */
async function watchAgainst(handle: FakeHandler, idleTimeoutMs = 5_000) {
  const api = new FakeKubeApi(handle)
  await api.start()
  const changes: WatchChange[] = []
  const errors: KubernetesError[] = []
  const listWatch = new ListWatch(
    KubeClient.load(api.kubeconfig(dir)),
    { path: '/api/v1/events', maxBackoffMs: 50, watchTimeoutSeconds: 300, idleTimeoutMs },
    (c) => changes.push(c),
    (e) => errors.push(e),
  )
  listWatch.start()
  cleanups.push(
    () => api.stop(),
    () => listWatch.stop(),
  )
  const summary = () =>
    changes.map((c) =>
      c.type === 'LISTED'
        ? `LISTED ${c.objects.map((o) => o.metadata.uid).join(',')}@${c.resourceVersion}`
        : c.type === 'BOOKMARK'
          ? `BOOKMARK@${c.resourceVersion}`
          : `${c.type} ${c.object.metadata.uid}@${c.resourceVersion}`,
    )
  return { api, changes, errors, summary }
}

it('lists again after a 410 Gone in the watch stream, and watches from the new list', async () => {
  let lists = 0
  const { api, errors, summary } = await watchAgainst((req, res) => {
    if (req.query.get('watch') !== '1')
      return lists++ === 0
        ? sendList(res, [kubeObject('a', '5')], '10')
        : sendList(res, [kubeObject('a', '5'), kubeObject('b', '11'), kubeObject('c', '14')], '20')
    startWatch(res)
    if (req.query.get('resourceVersion') === '10') {
      watchLine(res, 'ADDED', kubeObject('b', '11'))
      watchLine(res, 'ERROR', {
        kind: 'Status',
        code: 410,
        reason: 'Expired',
        message: 'too old resource version: 10 (12)',
      })
    }
  })
  await waitFor('the second list and its watch', () => api.watches.length >= 2, 5_000, 20)
  expect(summary()).toEqual(['LISTED a@10', 'ADDED b@11', 'LISTED a,b,c@20'])
  expect(errors.map((e) => e.code)).toEqual(['GONE'])
  expect(api.watches.map((w) => [w.query.get('resourceVersion'), w.query.get('allowWatchBookmarks')])).toEqual([
    ['10', 'true'],
    ['20', 'true'],
  ])
  // A list never asks for a stale resourceVersion: it reads the current state.
  expect(api.requests.filter((r) => r.query.get('watch') !== '1').map((r) => r.query.get('resourceVersion'))).toEqual([
    null,
    null,
  ])
})

it(
  'resumes after a connection dropped mid-line from the last complete event or bookmark, dropping the partial ' +
    'line',
  async () => {
    const { api, errors, summary } = await watchAgainst((req, res) => {
      if (req.query.get('watch') !== '1') return sendList(res, [kubeObject('a', '5')], '10')
      startWatch(res)
      if (req.query.get('resourceVersion') === '10') {
        watchLine(res, 'ADDED', kubeObject('b', '11'))
        watchLine(res, 'BOOKMARK', { metadata: { resourceVersion: '15' } })
        res.write('{"type":"ADDED","object":{"metadata":{"uid":"c","name":"obj-c","resourceVersion":"16"')
        setTimeout(() => res.socket?.destroy(), 50)
      } else if (req.query.get('resourceVersion') === '15') {
        watchLine(res, 'ADDED', kubeObject('c', '16'))
      }
    })
    await waitFor('the resumed watch to deliver c', () => summary().includes('ADDED c@16'), 5_000, 20)
    expect(summary()).toEqual(['LISTED a@10', 'ADDED b@11', 'BOOKMARK@15', 'ADDED c@16'])
    expect(errors.map((e) => e.code)).toEqual(['UNREACHABLE'])
    expect(api.watches.map((w) => w.query.get('resourceVersion'))).toEqual(['10', '15'])
    expect(api.requests.filter((r) => r.query.get('watch') !== '1')).toHaveLength(1)
  },
)

it('ends a quiet stream after the idle timeout (IDLE, not a failure) and resumes where it was', async () => {
  const { api, errors, summary } = await watchAgainst((req, res) => {
    if (req.query.get('watch') !== '1') return sendList(res, [], '10')
    startWatch(res)
    // The first watch sends one event and then nothing, without closing.
    if (req.query.get('resourceVersion') === '10') watchLine(res, 'MODIFIED', kubeObject('a', '12'))
    else watchLine(res, 'DELETED', kubeObject('a', '13'))
  }, 400)
  await waitFor('the watch after the stall', () => summary().includes('DELETED a@13'), 5_000, 20)
  expect(summary()).toEqual(['LISTED @10', 'MODIFIED a@12', 'DELETED a@13'])
  expect(errors[0].code).toBe('IDLE')
  expect(api.watches.slice(0, 2).map((w) => w.query.get('resourceVersion'))).toEqual(['10', '12'])
})

it('retries an apiserver that refuses with backoff, and reports each failure', async () => {
  let refusals = 3
  const { errors, summary } = await watchAgainst((req, res) => {
    if (refusals-- > 0)
      return void res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ kind: 'Status', code: 503, message: 'etcd leader changed' }))
    if (req.query.get('watch') !== '1') return sendList(res, [kubeObject('a', '5')], '10')
    startWatch(res)
  })
  await waitFor('the list after the refusals', () => summary().length > 0, 5_000, 20)
  expect(summary()).toEqual(['LISTED a@10'])
  expect(errors.map((e) => [e.code, e.status])).toEqual([
    ['HTTP_STATUS', 503],
    ['HTTP_STATUS', 503],
    ['HTTP_STATUS', 503],
  ])
  expect(errors[0].message).toContain('etcd leader changed')
})
