import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../deploy/local/local-process.js'
import { createTopic, readTopics } from '../../simulators/kafka-topics.js'
import { type EngineProcess, startEngine, waitFor } from '../support/engine-process.js'
import { lastCounts, warningCountsEnv, writeEnvelopes } from '../support/warning-counts.js'

const brokers = inject('kafkaBrokers')
const EVENTS = 20_000
const SESSION_TIMEOUT_MS = 6_000
const env = warningCountsEnv(brokers, 'iq', {
  SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
  STANDBY_REPLICAS: '1',
})
const replicas: Array<EngineProcess | undefined> = []
const urls: string[] = []
const stateDirs: string[] = []
/** (namespace/reason) → window start → count, from the output topic once it settled. */
let expected = new Map<string, Map<number, number>>()

interface WindowsAnswer {
  key: string
  partition: number
  servedBy: string
  windows: Array<{ start: number; end: number; value: number }>
  standby?: { lagRecords: number | null }
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    retryAfter: response.headers.get('retry-after'),
  }
}

/** The key's windows as the store holds them, over the span the output says it has. */
function windowsUrl(base: string, key: string, extra = ''): string {
  const starts = [...expected.get(key)!.keys()]
  const from = Math.min(...starts)
  const to = Math.max(...starts) + 60_000
  return `${base}/stores/by-minute/windows?key=${encodeURIComponent(key)}&from=${from}&to=${to}${extra}`
}

function matches(key: string, answer: WindowsAnswer): boolean {
  const want = expected.get(key)!
  return answer.windows.length === want.size && answer.windows.every((w) => want.get(w.start) === w.value)
}

/** `kubestream query ARGS`: its stdout, or a rejection with its stderr when it exits non-zero. */
function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['bin/kubestream.js', 'query', ...args], (error, stdout, stderr) =>
      error ? reject(new Error(stderr || error.message)) : resolve(stdout),
    ),
  )
}

beforeAll(async () => {
  await createTopic(brokers, env.SOURCE_TOPIC, 6)
  await writeEnvelopes(brokers, env.SOURCE_TOPIC, EVENTS, { seed: 17 })
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    urls.push(`http://127.0.0.1:${port}`)
    stateDirs.push(mkdtempSync(join(tmpdir(), 'kubestream-iq-')))
    replicas.push(
      startEngine('examples/warning-counts.yaml', {
        ...env,
        KUBESTREAM_STATE_DIR: stateDirs[i],
        KUBESTREAM_INSTANCE_ID: `replica-${i}`,
        KUBESTREAM_HTTP_PORT: String(port),
        KUBESTREAM_HTTP_HOST: '127.0.0.1',
        KUBESTREAM_ADVERTISED_URL: urls[i],
      }),
    )
  }
}, 120_000)

afterAll(async () => {
  for (const replica of replicas) replica?.child.kill('SIGKILL')
  await Promise.all(replicas.flatMap((replica) => (replica ? [replica.exited] : [])))
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true })
})

/**
 * examples/warning-counts.yaml as three `kubestream run` processes (standby copies on), each
 * answering interactive queries on its own port: any replica answers for any key, routing to the
 * owner; a replica killed -9 while queries stream in yields only correct answers or 503s.
 */
describe('interactive queries on three replicas of warning-counts', () => {
  it('answers every key through every replica with what the output topic says', async () => {
    let outputs = new Map<string, number>()
    await waitFor(
      'the outputs to settle',
      async () => {
        const before = outputs
        outputs = lastCounts(await readTopics(brokers, [env.OUTPUT_TOPIC], { readCommitted: true }))
        return outputs.size > 0 && before.size === outputs.size && [...outputs].every(([k, v]) => before.get(k) === v)
      },
      120_000,
      3_000,
    )
    expected = new Map()
    for (const [resultKey, count] of outputs) {
      const at = resultKey.lastIndexOf('@')
      const key = resultKey.slice(0, at)
      let windows = expected.get(key)
      if (!windows) expected.set(key, (windows = new Map()))
      windows.set(Number(resultKey.slice(at + 1)), count)
    }
    const wrong: string[] = []
    await waitFor('every key answered by every replica', async () => {
      wrong.length = 0
      for (const base of urls) {
        for (const key of expected.keys()) {
          const { status, body } = await get(windowsUrl(base, key))
          if (status !== 200 || !matches(key, body as unknown as WindowsAnswer))
            wrong.push(`${base} ${key}: ${status} ${JSON.stringify(body).slice(0, 200)}`)
        }
      }
      return wrong.length === 0
    }).catch((error: Error) => {
      for (const replica of replicas) console.log(replica?.output().slice(-3_000))
      throw new Error(`${error.message}\n${wrong.slice(0, 10).join('\n')}`)
    })
    // Keys were served by their owners, more than one replica: answers through urls[0] were partly forwarded.
    const servedBy = new Set<string>()
    for (const key of expected.keys())
      servedBy.add(((await get(windowsUrl(urls[0], key))).body as { servedBy: string }).servedBy)
    expect(servedBy.size).toBeGreaterThan(1)
    console.log(`${expected.size} keys, ${outputs.size} (key, window) results, each asked of 3 replicas`)
  }, 240_000)

  it('pages through every window of every key, gathered from the owners by one replica', async () => {
    const pages: string[] = []
    const seen = new Map<string, Map<number, number>>()
    let after: string | undefined
    do {
      const { status, body } = await get(
        `${urls[2]}/stores/by-minute/range?limit=50${after === undefined ? '' : `&after=${after}`}`,
      )
      expect(status).toBe(200)
      const entries = body.entries as Array<{ key: string; start: number; value: number }>
      pages.push(`${entries.length}`)
      for (const { key, start, value } of entries) {
        let windows = seen.get(key)
        if (!windows) seen.set(key, (windows = new Map()))
        expect(windows.has(start)).toBe(false)
        windows.set(start, value)
      }
      after = body.next as string | undefined
    } while (after !== undefined && pages.length < 1_000)
    expect(seen).toEqual(expected)
    // A window range: one minute of every key.
    const minute = Math.min(...[...expected.values()].flatMap((windows) => [...windows.keys()]))
    const { body } = await get(`${urls[1]}/stores/by-minute/range?from=${minute}&to=${minute + 60_000}&limit=10000`)
    const inMinute = [...expected].filter(([, windows]) => windows.has(minute))
    expect((body.entries as unknown[]).length).toBe(inMinute.length)
    expect(body.next).toBeUndefined()
  })

  it('says who owns a key and answers from a standby copy when asked', async () => {
    const key = [...expected.keys()][0]
    const owners = await Promise.all(
      urls.map((base) => get(`${base}/stores/by-minute/owner?key=${encodeURIComponent(key)}`)),
    )
    for (const { status, body } of owners) {
      expect(status).toBe(200)
      expect(body).toMatchObject({ store: 'by-minute', key, partition: owners[0].body.partition })
      expect((body.active as { url: string }).url).toBe((owners[0].body.active as { url: string }).url)
    }
    const owner = urls.indexOf((owners[0].body.active as { url: string }).url)
    const other = urls[(owner + 1) % 3]
    await waitFor('a standby copy caught up', async () => {
      const { status, body } = await get(windowsUrl(other, key, '&standby=ok'))
      const answer = body as unknown as WindowsAnswer
      return (
        status === 200 && answer.standby !== undefined && answer.servedBy !== `replica-${owner}` && matches(key, answer)
      )
    })
  }, 60_000)

  it('answers `kubestream query` through any replica', async () => {
    const key = [...expected.keys()][0]
    const windows = JSON.parse(await cli(['by-minute', key, '--url', urls[1]])) as WindowsAnswer
    expect(matches(key, windows)).toBe(true)
    const owner = JSON.parse(await cli(['by-minute', key, '--owner', '--url', urls[0]])) as { partition: number }
    expect(owner.partition).toBe(windows.partition)
    const page = JSON.parse(await cli(['by-minute', '--limit', '3', '--url', urls[2]])) as { entries: unknown[] }
    expect(page.entries).toHaveLength(3)
    await expect(cli(['no-such-store', 'x', '--url', urls[0]])).rejects.toThrow(/404 .*no store "no-such-store"/)
  })

  it('gets a 4xx with a message for bad queries', async () => {
    const key = encodeURIComponent([...expected.keys()][0])
    const cases: Array<[string, number, RegExp]> = [
      ['/stores/no-such-store/windows?key=x', 404, /no store "no-such-store".*by-minute/],
      ['/stores/by-minute/windows', 400, /needs a key/],
      [`/stores/by-minute/windows?key=${'k'.repeat(2_000)}`, 400, /at most 1900/],
      [`/stores/by-minute/windows?key=${key}&from=2000&to=1000`, 400, /from \(2000\) must be before to \(1000\)/],
      [`/stores/by-minute/windows?key=${key}&from=0&to=${Date.now()}`, 400, /windows of 60000 ms; at most 10000/],
      [`/stores/by-minute/windows?key=${key}&from=yesterday`, 400, /epoch milliseconds or an ISO-8601/],
      [`/stores/by-minute/value?key=${key}`, 400, /is a window store: it answers windows, range, owner/],
      ['/stores/by-minute/sessions?key=x', 400, /is a window store/],
      ['/stores/by-minute/range?limit=1000000', 400, /limit must be an integer from 1 to 10000/],
      ['/stores/by-minute/range?after=bm90IGpzb24', 400, /is not a continuation token/],
      ['/stores/by-minute/everything', 400, /unknown query "everything"/],
    ]
    for (const [path, status, message] of cases) {
      const answer = await get(`${urls[1]}${path}`)
      expect({ path, status: answer.status }).toEqual({ path, status })
      expect(String(answer.body.error)).toMatch(message)
    }
  })

  it('answers correctly or 503 while a replica is killed -9, and routes again after the rebalance', async () => {
    const keys = [...expected.keys()]
    // The replica that owns the most keys' partitions (the group may leave one without store tasks).
    const owners = await Promise.all(
      keys.map(async (key) => {
        const { body } = await get(`${urls[0]}/stores/by-minute/owner?key=${encodeURIComponent(key)}`)
        return (body.active as { url: string }).url
      }),
    )
    const victim = [0, 1, 2].sort(
      (a, b) => owners.filter((url) => url === urls[b]).length - owners.filter((url) => url === urls[a]).length,
    )[0]
    const survivors = urls.filter((_, i) => i !== victim)
    const tally = { ok: 0, unavailable: 0, wrong: [] as string[] }
    let killedAt = 0
    let convergedAt = 0
    let consecutiveOk = 0
    const deadline = Date.now() + 120_000
    for (let i = 0; Date.now() < deadline; i++) {
      if (i === 200) {
        replicas[victim]!.child.kill('SIGKILL')
        await replicas[victim]!.exited
        replicas[victim] = undefined
        killedAt = Date.now()
        consecutiveOk = 0
      }
      const key = keys[i % keys.length]
      const { status, body, retryAfter } = await get(windowsUrl(survivors[i % 2], key))
      if (status === 200 && matches(key, body as unknown as WindowsAnswer)) {
        tally.ok++
        consecutiveOk++
      } else if (status === 503 && retryAfter !== null && typeof body.error === 'string') {
        tally.unavailable++
        consecutiveOk = 0
      } else {
        tally.wrong.push(`${key}: ${status} ${JSON.stringify(body).slice(0, 300)}`)
      }
      // Converged: every key answered in a row, twice over, after the kill.
      if (killedAt > 0 && consecutiveOk >= 2 * keys.length) {
        convergedAt = Date.now()
        break
      }
    }
    console.log(
      `kill -9 during queries: ${tally.ok} correct, ${tally.unavailable} 503, ${tally.wrong.length} wrong; ` +
        `routing converged ${convergedAt - killedAt} ms after the kill (session timeout ${SESSION_TIMEOUT_MS} ms)`,
    )
    expect(tally.wrong).toEqual([])
    expect(tally.unavailable).toBeGreaterThan(0)
    expect(convergedAt).toBeGreaterThan(0)
  }, 180_000)
})
