import { readFileSync } from 'node:fs'

export interface QueryOptions {
  url: string
  tokenFile?: string
  owner?: boolean
  from?: string
  to?: string
  limit?: string
  after?: string
  standbyOk?: boolean
}

/**
 * `kubestream query STORE [KEY]`: asks any replica's /stores (it routes to the owner) and
 * prints the JSON answer. With a key: the value, windows or sessions, by the store's type
 * (asked of /stores first); `--owner` says who holds the key; without a key, a range page.
 * Exits 1 with the replica's reason when it answers anything but 200.
 */
export async function queryStore(store: string, key: string | undefined, options: QueryOptions): Promise<void> {
  const base = options.url.replace(/\/$/, '')
  const headers: Record<string, string> = {}
  if (options.tokenFile !== undefined)
    headers.authorization = `Bearer ${readFileSync(options.tokenFile, 'utf8').trim()}`
  const get = async (path: string, params: Record<string, string | undefined> = {}) => {
    const search = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined))
    const response = await fetch(`${base}${path}?${search}`, { headers, signal: AbortSignal.timeout(30_000) })
    const body = (await response.json().catch(() => ({ error: response.statusText }))) as Record<string, unknown>
    if (response.status !== 200) {
      const retry = response.headers.get('retry-after')
      const hint = retry === null ? '' : `; retry after ${retry} s`
      throw new Error(`${response.status} from ${base}${path}: ${String(body.error)}${hint}`)
    }
    return body
  }
  const path = (kind: string) => `/stores/${encodeURIComponent(store)}/${kind}`
  let answer: unknown
  if (key === undefined) {
    answer = await get(path('range'), {
      from: options.from,
      to: options.to,
      limit: options.limit,
      after: options.after,
    })
  } else if (options.owner) {
    answer = await get(path('owner'), { key })
  } else {
    const { stores } = (await get('/stores')) as { stores: Array<{ name: string; type: string }> }
    const type = stores.find((s) => s.name === store)?.type
    const kind = type === 'window' ? 'windows' : type === 'session' ? 'sessions' : 'value'
    const standby = options.standbyOk ? 'ok' : undefined
    answer = await get(path(kind), { key, from: options.from, to: options.to, standby })
  }
  console.log(JSON.stringify(answer, null, 2))
}
