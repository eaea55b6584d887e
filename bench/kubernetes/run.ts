/**
 * `npm run bench:kubernetes`: examples/events-persist.yaml against the local kube-apiserver
 * (built on first use) with BENCH_EVENTS (5,000) events. Measures, in this process:
 *   - list: the events exist before kubestream starts; time until every ADDED landed;
 *   - watch: every event repeated once (count + 1) while it runs; time from the first repeat
 *     to the last UPDATED landed, next to how fast the apiserver took the repeats;
 *   - restart: a stop and start that re-lists everything (paged, 500 a page); time until the
 *     list is compared, the peak RSS meanwhile, and how many records it landed (must be 0);
 * and the peak RSS of the process (kubestream and the test's own clients; the apiserver and
 * etcd are child processes, not counted).
 */
import Kafka from 'node-rdkafka'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import { localApiRequest, startLocalApiServer } from '../../deploy/local/kube-apiserver.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { loadTopologyFile } from '../../topology/load.js'
import { saveResults } from '../harness.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 5_000)
const CONCURRENCY = 16
const run = Date.now().toString(36)

async function main(): Promise<void> {
  let broker: LocalBroker | undefined
  if (!process.env.KAFKA_BROKERS) broker = await startLocalBroker()
  const brokers = process.env.KAFKA_BROKERS ?? broker!.brokers
  const api = await startLocalApiServer()
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-kube-bench-'))
  let peakRss = 0
  /** The peak of the phase being measured (the re-list), reset at its start. */
  let phasePeakRss = 0
  const sampler = setInterval(() => {
    const { rss } = process.memoryUsage()
    peakRss = Math.max(peakRss, rss)
    phasePeakRss = Math.max(phasePeakRss, rss)
  }, 100)
  try {
    const kubeconfig = api.kubeconfig('admin')
    const path = '/api/v1/namespaces/default/events'
    const names = Array.from({ length: EVENTS }, (_, i) => `bench-${i}.${run}`)
    let started = Date.now()
    await inParallel(names, (name) =>
      localApiRequest(kubeconfig, 'POST', path, {
        metadata: { name },
        involvedObject: { kind: 'Pod', namespace: 'default', name: name.split('.')[0] },
        reason: 'BackOff',
        message: `Back-off restarting failed container ${name}`,
        type: 'Warning',
        count: 1,
        firstTimestamp: new Date().toISOString(),
        lastTimestamp: new Date().toISOString(),
        source: { component: 'kubelet', host: 'node-1' },
      }),
    )
    const createMs = Date.now() - started

    const topic = `bench-cluster-events-${run}`
    const graph = loadTopologyFile('examples/events-persist.yaml', {
      APPLICATION_ID: `bench-events-${run}`,
      KAFKA_BROKERS: brokers,
      KUBECONFIG: kubeconfig,
      EVENTS_TOPIC: topic,
      GUARANTEE: 'at_least_once',
      COMMIT_INTERVAL_MS: '500',
    })
    const start = async () => {
      const stream = new KubeStream(graph, { stateDir: join(dir, 'state'), logger: pino({ level: 'warn' }) })
      await stream.start()
      return stream
    }
    started = Date.now()
    let stream = await start()
    await landedAtLeast(brokers, topic, EVENTS)
    const listMs = Date.now() - started

    started = Date.now()
    await inParallel(names, async (name) => {
      const event = (await localApiRequest(kubeconfig, 'GET', `${path}/${name}`)) as Record<string, unknown>
      await localApiRequest(kubeconfig, 'PUT', `${path}/${name}`, {
        ...event,
        count: 2,
        lastTimestamp: new Date().toISOString(),
      })
    })
    const repeatMs = Date.now() - started
    await landedAtLeast(brokers, topic, 2 * EVENTS)
    const watchMs = Date.now() - started
    await stream.stop()

    const rssBeforeRelist = process.memoryUsage().rss
    phasePeakRss = rssBeforeRelist
    started = Date.now()
    stream = await start()
    const documents = () => Number(/kubestream_source_documents_total\{[^}]*\} (\d+)/.exec(awaitedMetrics)?.[1] ?? 0)
    let awaitedMetrics = ''
    // The restart's list is one document: wait for it to be applied, then for a commit.
    while (documents() < 1) {
      awaitedMetrics = await stream.metrics.metrics()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const relistMs = Date.now() - started
    const relistPeakRss = phasePeakRss
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    await stream.stop()
    const relanded = (await landed(brokers, topic)) - 2 * EVENTS

    const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en')
    const date = new Date().toISOString()
    const markdown = [
      `# Kubernetes events source — ${date}`,
      '',
      `kube-apiserver ${api.kubernetesVersion} (etcd ${api.etcdVersion}) on loopback, Kafka ` +
        `${broker?.version ?? 'external'}; ${EVENTS.toLocaleString('en')} core/v1 events; ` +
        `examples/events-persist.yaml in this process, at-least-once.`,
      '',
      '| phase | time | rate |',
      '| --- | --- | --- |',
      `| apiserver takes ${EVENTS} creates (${CONCURRENCY} at a time) | ${createMs} ms | ` +
        `${rate(EVENTS, createMs)} events/s |`,
      `| start → every event landed as ADDED (one list) | ${listMs} ms | ${rate(EVENTS, listMs)} events/s |`,
      `| apiserver takes ${EVENTS} repeats (GET + PUT) | ${repeatMs} ms | ${rate(EVENTS, repeatMs)} repeats/s |`,
      `| first repeat → every UPDATED landed (watch) | ${watchMs} ms | ${rate(EVENTS, watchMs)} events/s |`,
      `| restart → re-list of ${EVENTS} compared with what was landed | ${relistMs} ms | ${relanded} records ` +
        `landed again |`,
      '',
      `Peak RSS of this process: ${mb(peakRss)} MB; during the re-list ${mb(relistPeakRss)} MB ` +
        `(${mb(rssBeforeRelist)} MB before it).`,
    ].join('\n')
    saveResults(
      'kubernetes',
      {
        date,
        events: EVENTS,
        createMs,
        listMs,
        repeatMs,
        watchMs,
        relistMs,
        relanded,
        peakRssMb: mb(peakRss),
        relistPeakRssMb: mb(relistPeakRss),
        rssBeforeRelistMb: mb(rssBeforeRelist),
      } as { date: string },
      markdown,
    )
  } finally {
    clearInterval(sampler)
    await api.stop()
    await broker?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024)
}

async function inParallel<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await work(items[next++])
    }),
  )
}

async function landedAtLeast(brokers: string, topic: string, count: number): Promise<void> {
  while ((await landed(brokers, topic).catch(() => 0)) < count) await new Promise((resolve) => setTimeout(resolve, 100))
}

/** Records in the topic: the sum of its partitions' end offsets (at-least-once: no transaction markers). */
function landed(brokers: string, topic: string): Promise<number> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': `bench-reader-${run}` }, {})
  return new Promise((resolve, reject) => {
    consumer.connect({ timeout: 10_000 }, async (error, metadata) => {
      if (error) return reject(error)
      try {
        const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? []
        let total = 0
        for (const { id } of partitions) {
          total += await new Promise<number>((res, rej) => {
            consumer.queryWatermarkOffsets(topic, id, 5_000, (e, o) => (e ? rej(e) : res(o.highOffset)))
          })
        }
        resolve(total)
      } catch (e) {
        reject(e)
      } finally {
        consumer.disconnect()
      }
    })
  })
}

await main()
