import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, it } from 'vitest'
import { ensureChromium, HEADLESS_CHROMIUM_ARGS } from '../../deploy/local/chromium.js'
import { freePort } from '../../deploy/local/local-process.js'
import { createTopic } from '../../simulators/kafka-topics.js'
import { describeGraph } from '../../topology/describe.js'
import { loadTopologyFile } from '../../topology/load.js'
import { type EngineProcess, startEngine, waitFor } from '../support/engine-process.js'
import { warningCountsEnv, writeEnvelopes } from '../support/warning-counts.js'

const brokers = inject('kafkaBrokers')
const env = warningCountsEnv(brokers, 'page')
const view = describeGraph(loadTopologyFile('examples/warning-counts.yaml', { ...process.env, ...env }))
const stateDir = mkdtempSync(join(tmpdir(), 'kubestream-page-'))
const artifacts = 'test/artifacts'
let engine: EngineProcess
let browser: Browser
let url: string

beforeAll(async () => {
  const executablePath = await ensureChromium()
  await createTopic(brokers, env.SOURCE_TOPIC, 3)
  await writeEnvelopes(brokers, env.SOURCE_TOPIC, 5_000, { seed: 3 })
  const port = await freePort()
  url = `http://127.0.0.1:${port}`
  engine = startEngine('examples/warning-counts.yaml', {
    ...env,
    KUBESTREAM_STATE_DIR: stateDir,
    KUBESTREAM_HTTP_PORT: String(port),
    KUBESTREAM_HTTP_HOST: '127.0.0.1',
    KUBESTREAM_ADVERTISED_URL: url,
  })
  await waitFor('the replica ready', async () => (await fetch(`${url}/readyz`)).status === 200, 120_000)
  browser = await chromium.launch({ executablePath, args: HEADLESS_CHROMIUM_ARGS })
}, 1_200_000)

afterAll(async () => {
  await browser?.close()
  engine?.child.kill('SIGKILL')
  await engine?.exited
  rmSync(stateDir, { recursive: true, force: true })
})

/** /metrics as name{labels} → value. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const series = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line)
    if (match) series.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]))
  }
  return series
}

/** The /metrics counter a node's total on the page comes from. */
function counterOf(metrics: Map<string, number>, node: (typeof view.nodes)[number]): number | undefined {
  const app = `application_id="${view.applicationId}"`
  if (node.kind === 'source') return metrics.get(`kubestream_records_consumed_total{topic="${node.topic}",${app}}`)
  if (node.kind === 'repartition') return metrics.get(`kubestream_records_produced_total{topic="${node.topic}",${app}}`)
  if (node.kind === 'step' || node.kind === 'sink')
    return metrics.get(`kubestream_step_records_total{step="${node.name}",${app}}`) ?? 0
  return undefined
}

/** Waits for the page's next refresh. */
async function nextRefresh(page: Page): Promise<void> {
  const before = await page.locator('#updated').getAttribute('data-time')
  await page.waitForFunction((time) => document.querySelector('#updated')?.getAttribute('data-time') !== time, before)
}

it('shows the topology live, its figures as /metrics has them, and answers a query typed in', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(url)
  await page.waitForSelector('[data-node-id]')

  // A node per step, source, repartition topic, store and sink, as describe knows them.
  for (const kind of ['source', 'step', 'repartition', 'store', 'sink'] as const) {
    const want = view.nodes.filter((n) => n.kind === kind).map((n) => n.id)
    const shown = await page.locator(`g[data-kind="${kind}"]`).evaluateAll((gs) => gs.map((g) => g.dataset.nodeId))
    expect({ kind, shown: shown.sort() }).toEqual({ kind, shown: want.sort() })
  }
  expect(await page.locator('path.edge').count()).toBe(view.edges.length)

  // More records while the page watches: its totals follow /metrics, refresh by refresh.
  const more = writeEnvelopes(brokers, env.SOURCE_TOPIC, 20_000, { seed: 4 })
  let compared = 0
  for (let round = 0; round < 6; round++) {
    const before = await scrape()
    await nextRefresh(page)
    const after = await scrape()
    for (const node of view.nodes) {
      const low = counterOf(before, node)
      if (low === undefined) continue
      const high = counterOf(after, node)!
      const shown = Number(await page.locator(`g[data-node-id="${node.id}"] .figure`).getAttribute('data-total'))
      expect({ node: node.id, inRange: shown >= low && shown <= high }).toEqual({ node: node.id, inRange: true })
      compared++
    }
    const rate = Number(await page.locator('[data-metric="process-rate"]').getAttribute('data-value'))
    const series = (m: Map<string, number>) =>
      [...m].find(([name]) => name.startsWith('kafka_streams_stream_thread_process_rate{'))![1]
    const [a, b] = [series(before), series(after)]
    expect(rate).toBeGreaterThanOrEqual(Math.min(a, b) * 0.9)
    expect(rate).toBeLessThanOrEqual(Math.max(a, b) * 1.1 + 1)
  }
  await more
  expect(compared).toBeGreaterThan(0)
  await waitFor('the page to count the second burst', async () => {
    const shown = await page.locator('g[data-node-id="source:cluster-events"] .figure').getAttribute('data-total')
    return Number(shown) === 25_000
  })
  await nextRefresh(page)
  expect(Number(await page.locator('g[data-kind="store"] .figure').getAttribute('data-total'))).toBeGreaterThan(0)
  expect(await page.locator('#tasks tbody tr').count()).toBeGreaterThan(0)
  // Each task's input partitions: the source's 3 and the repartition topic's 3.
  expect(await page.locator('#partitions tbody tr').count()).toBe(6)

  // A query typed in the box shows what the store holds.
  const { body: range } = await fetch(`${url}/stores/by-minute/range?limit=1`).then(async (r) => ({
    body: (await r.json()) as { entries: Array<{ key: string; start: number; value: number }> },
  }))
  const [window] = range.entries
  await page.selectOption('#query-store', 'by-minute')
  await page.fill('#query-key', window.key)
  await page.fill('#query-from', String(window.start))
  await page.fill('#query-to', String(window.start + 60_000))
  await page.click('#query button[type="submit"]')
  await page.waitForSelector('#query-answer[data-status="200"]')
  const answer = await page.locator('#query-answer').textContent()
  expect(JSON.parse(answer!.slice(answer!.indexOf('\n') + 1))).toMatchObject({
    key: window.key,
    windows: [{ start: window.start, value: window.value }],
  })

  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, 'topology-page.png'), fullPage: true })
  expect(errors).toEqual([])
}, 180_000)
