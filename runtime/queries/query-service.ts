import { partitionForKey } from '../../connectors/kafka/key-partition.js'
import type { StoreBytes } from '../../state/store-partition.js'
import type { LocalStores } from './local-stores.js'
import { QueryError, RETRY_AFTER_SECONDS } from './query-error.js'
import type { RoutingTable } from './routing-table.js'
import type { QueryableStore, StoreCatalog } from './store-catalog.js'
import { decodeToken, encodeToken, parseStoreQuery, type StoreQuery } from './store-query.js'
import { checkQueryFits, mergeRangePages, type RangePage, readKey, readRange } from './store-reads.js'

/** An HTTP answer: status, JSON body, extra headers. */
export interface QueryAnswer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export interface QueryServiceOptions {
  /** The bearer token replicas send each other (they share one). */
  token?: string
  /** How long a forwarded query may take before the owner counts as not answering. */
  forwardTimeoutMs?: number
}

/** Marks a query one replica forwarded to another: the receiver answers from its own copy or not at all. */
export const FORWARDED_HEADER = 'x-kubestream-forwarded-by'

type KeyQuery = Extract<StoreQuery, { kind: 'value' | 'windows' | 'sessions' }>
type RangeQuery = Extract<StoreQuery, { kind: 'range' }>

/**
 * Interactive queries (Kafka Streams' IQ with the HTTP layer and the routing built in): any
 * replica answers any query. A key's partition is the default partitioner's; the task that
 * owns it answers from its committed state, and any other replica forwards to it — or, asked
 * `standby=ok`, answers from a standby copy, saying how far behind it is. A restoring or moving
 * partition, or an owner that does not answer, is a 503 with Retry-After: never a stale value
 * presented as current.
 */
export class QueryService {
  constructor(
    private readonly catalog: StoreCatalog,
    private readonly local: LocalStores,
    private readonly routing: RoutingTable,
    private readonly options: QueryServiceOptions = {},
  ) {}

  /** Answers `/stores` and `/stores/<store>/<kind>?...`; `forwardedBy` is set on a query another replica sent. */
  async answer(path: string, params: URLSearchParams, forwardedBy?: string): Promise<QueryAnswer> {
    try {
      if (/^\/stores\/?$/.test(path)) return { status: 200, body: this.overview() }
      const query = parseStoreQuery(path, params)
      const store = this.catalog.get(query.store)
      checkQueryFits(store, query.kind)
      if (query.kind === 'owner') return { status: 200, body: this.owner(store, query.key) }
      if (query.kind === 'range') return await this.range(store, query, params, forwardedBy)
      const standbyOk = params.get('standby') === 'ok'
      return await this.keyQuery(store, query, path, params, standbyOk, forwardedBy)
    } catch (error) {
      if (error instanceof QueryError) return failure(error)
      throw error
    }
  }

  private overview() {
    return {
      instance: this.local.instance,
      stores: this.catalog.all().map(({ name, type, partitions }) => ({ name, type, partitions })),
      replicas: this.routing.replicas(),
    }
  }

  private owner(store: QueryableStore, key: string) {
    const partition = partitionForKey(key, store.partitions)
    const here = this.local.active(store, partition) && { instance: this.local.instance, url: this.local.url }
    const owner = here ?? this.routing.owner(store.name, partition)
    return {
      store: store.name,
      key,
      partition,
      task: `${store.subTopology}_${partition}`,
      active: owner ? { instance: owner.instance, url: owner.url } : null,
      standbys: this.routing.standbys(store.name, partition).map(({ instance, url }) => ({ instance, url })),
    }
  }

  private async keyQuery(
    store: QueryableStore,
    query: KeyQuery,
    path: string,
    params: URLSearchParams,
    standbyOk: boolean,
    forwardedBy: string | undefined,
  ): Promise<QueryAnswer> {
    const partition = partitionForKey(query.key, store.partitions)
    const answer = (bytes: StoreBytes, extra: Record<string, unknown> = {}): QueryAnswer => ({
      status: 200,
      body: {
        store: store.name,
        key: query.key,
        partition,
        servedBy: this.local.instance,
        ...extra,
        ...readKey(store, query, bytes),
      },
    })
    const active = this.local.active(store, partition)
    if (active && !active.restoring) return answer(active.bytes)
    const copy = standbyOk ? this.local.standby(store, partition) : undefined
    if (copy) return answer(copy.bytes, { standby: { lagRecords: copy.lagRecords ?? null } })
    if (active)
      throw unavailable(`partition ${partition} of store "${store.name}" is restoring on ${this.local.instance}`)
    if (forwardedBy !== undefined) throw moved(store, partition, this.local.instance)
    const owner = this.remoteOwner(store, partition)
    const standbys = standbyOk ? this.routing.standbys(store.name, partition) : []
    if (!owner && standbys.length === 0) throw unowned(store, partition)
    const targets = [...(owner ? [owner] : []), ...standbys.filter((s) => s.instance !== this.local.instance)]
    let last: QueryError | undefined
    for (const target of targets) {
      try {
        return await this.forward(target.url, target.instance, path, params)
      } catch (error) {
        if (!(error instanceof QueryError)) throw error
        last = error
      }
    }
    throw last ?? unowned(store, partition)
  }

  /** The replica the routing table names for a partition, unless it names this one (a claim it no longer holds). */
  private remoteOwner(store: QueryableStore, partition: number) {
    const owner = this.routing.owner(store.name, partition)
    return owner?.instance === this.local.instance ? undefined : owner
  }

  /**
   * A key range over every partition: this replica's partitions read here, the others' asked of
   * their owners (one request per owner), the pages merged into one by key.
   */
  private async range(
    store: QueryableStore,
    query: RangeQuery,
    params: URLSearchParams,
    forwardedBy: string | undefined,
  ): Promise<QueryAnswer> {
    const partitions = query.partitions ?? Array.from({ length: store.partitions }, (_, p) => p)
    const here: StoreBytes[] = []
    const elsewhere = new Map<string, { instance: string; partitions: number[] }>()
    for (const partition of partitions) {
      const active = this.local.active(store, partition)
      if (active?.restoring)
        throw unavailable(`partition ${partition} of store "${store.name}" is restoring on ${this.local.instance}`)
      if (active) {
        here.push(active.bytes)
        continue
      }
      if (forwardedBy !== undefined) throw moved(store, partition, this.local.instance)
      const owner = this.remoteOwner(store, partition)
      if (!owner) throw unowned(store, partition)
      let asked = elsewhere.get(owner.url)
      if (!asked) elsewhere.set(owner.url, (asked = { instance: owner.instance, partitions: [] }))
      asked.partitions.push(partition)
    }
    const pages: RangePage[] = [readRange(store, query, here)]
    const remote = await Promise.all(
      [...elsewhere].map(async ([url, { instance, partitions: theirs }]) => {
        const asked = new URLSearchParams(params)
        asked.set('partitions', theirs.join(','))
        const answer = await this.forward(url, instance, `/stores/${encodeURIComponent(store.name)}/range`, asked)
        if (answer.status !== 200) throw new QueryError('UNAVAILABLE', `${instance}: ${errorOf(answer)}`)
        const { entries, next } = answer.body as { entries: RangePage['entries']; next?: string }
        return { entries, next: next === undefined ? undefined : decodeToken(next) }
      }),
    )
    const page = mergeRangePages([...pages, ...remote], query.limit)
    return {
      status: 200,
      body: {
        store: store.name,
        ...(query.from === undefined ? {} : { from: query.from }),
        ...(query.to === undefined ? {} : { to: query.to }),
        limit: query.limit,
        entries: page.entries,
        ...(page.next === undefined ? {} : { next: encodeToken(page.next) }),
      },
    }
  }

  /** Sends the query to the replica that holds the partition; its answer, 4xx and 503 included, is ours. */
  private async forward(url: string, instance: string, path: string, params: URLSearchParams): Promise<QueryAnswer> {
    const headers: Record<string, string> = { [FORWARDED_HEADER]: this.local.instance }
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`
    let response: Response
    try {
      response = await fetch(`${url.replace(/\/$/, '')}${path}?${params}`, {
        headers,
        signal: AbortSignal.timeout(this.options.forwardTimeoutMs ?? 2_000),
      })
    } catch (error) {
      throw unavailable(`${instance} (${url}) did not answer: ${(error as Error).message}`, error)
    }
    const body: unknown = await response.json().catch(() => ({ error: `${instance} answered ${response.status}` }))
    const retryAfter = response.headers.get('retry-after')
    return { status: response.status, body, headers: retryAfter === null ? undefined : { 'retry-after': retryAfter } }
  }
}

function errorOf(answer: QueryAnswer): string {
  const { error } = answer.body as { error?: unknown }
  return typeof error === 'string' ? error : `answered ${answer.status}`
}

function failure(error: QueryError): QueryAnswer {
  return {
    status: error.status,
    body: { error: error.message },
    headers: error.code === 'UNAVAILABLE' ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : undefined,
  }
}

function unavailable(reason: string, cause?: unknown): QueryError {
  return new QueryError('UNAVAILABLE', reason, { cause })
}

function moved(store: QueryableStore, partition: number, instance: string): QueryError {
  return unavailable(`partition ${partition} of store "${store.name}" moved: ${instance} no longer holds it`)
}

function unowned(store: QueryableStore, partition: number): QueryError {
  return unavailable(`no replica holds partition ${partition} of store "${store.name}" yet (the group is rebalancing)`)
}
