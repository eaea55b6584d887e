import { setTimeout as sleep } from 'node:timers/promises'
import { backoffMs } from '../../core/backoff.js'
import type { KubeClient } from './kube-client.js'
import { KubernetesError, statusError } from './kubernetes-error.js'

/** The parts of any Kubernetes object the sources rely on. */
export interface KubeObject {
  readonly metadata: {
    readonly uid: string
    readonly name: string
    readonly namespace?: string
    readonly resourceVersion: string
    readonly [field: string]: unknown
  }
  readonly [field: string]: unknown
}

/** What a list+watch reports, in the order the server made the changes. */
export type WatchChange =
  /**
   * A complete listing (at start or after a 410): anything remembered in this scope and not listed was deleted
   * meanwhile.
   */
  | { readonly type: 'LISTED'; readonly objects: readonly KubeObject[]; readonly resourceVersion: string }
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: KubeObject; readonly resourceVersion: string }
  /** Nothing changed up to this resourceVersion: where a reconnect resumes. */
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string }

export interface ListWatchOptions {
  /** The collection, e.g. `/api/v1/events` or `/api/v1/namespaces/shop/pods`. */
  readonly path: string
  readonly labelSelector?: string
  readonly fieldSelector?: string
  /** Objects per list page. */
  readonly pageSize?: number
  readonly maxBackoffMs: number
  /** The server ends each watch after a random time up to this; the next one resumes. */
  readonly watchTimeoutSeconds: number
  /** A watch that sends nothing (not even a bookmark) for this long is dropped and resumed. */
  readonly idleTimeoutMs: number
}

/**
 * client-go's Reflector, without the cache: list (paged), then watch from the list's
 * resourceVersion with bookmarks, and on every end of the stream resume from the last
 * resourceVersion seen (an event's or a bookmark's), also after a quiet spell (IDLE). A `410
 * Gone` (as an HTTP status or a watch ERROR event) lists again. Failures are reported and
 * retried with backoff; the loop only ends with stop(). There is no periodic resync: nothing
 * is reported that did not change.
 */
export class ListWatch {
  private readonly abort = new AbortController()
  private loop: Promise<void> | undefined
  private resourceVersion: string | undefined

  constructor(
    private readonly client: KubeClient,
    private readonly options: ListWatchOptions,
    private readonly onChange: (change: WatchChange) => void,
    private readonly onError: (error: KubernetesError) => void,
  ) {}

  /** Starts at `resourceVersion` (a watch from there) or, without one, with a list. */
  start(resourceVersion?: string): void {
    this.resourceVersion = resourceVersion
    this.loop = this.run()
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await this.loop
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.abort.signal.aborted) {
      try {
        if (this.resourceVersion === undefined) await this.list()
        await this.watch(this.resourceVersion!)
        failures = 0
      } catch (error) {
        if (this.abort.signal.aborted) return
        const failure =
          error instanceof KubernetesError
            ? error
            : new KubernetesError('UNREACHABLE', (error as Error).message, undefined, { cause: error })
        this.onError(failure)
        if (failure.code === 'GONE') {
          this.resourceVersion = undefined
          continue
        }
        // A quiet watch resumes where it was, at once: nothing failed.
        if (failure.code === 'IDLE') continue
        failures++
        await sleep(backoffMs(failures, this.options.maxBackoffMs), undefined, { signal: this.abort.signal }).catch(
          () => undefined,
        )
      }
    }
  }

  private async list(): Promise<void> {
    const objects: KubeObject[] = []
    let next: string | undefined
    let resourceVersion = ''
    do {
      const query = this.query({ limit: String(this.options.pageSize ?? 500), continue: next })
      const { status, body } = await this.client.request<ObjectList>('GET', `${this.options.path}?${query}`)
      if (status !== 200)
        throw statusError(
          status,
          `list ${this.options.path}: HTTP ${status}: ${(body as { message?: string } | undefined)?.message ?? ''}`,
        )
      // List items come without their kind and apiVersion (watch events have them): add them, as kubectl does.
      const kind = body.kind?.replace(/List$/, '')
      for (const item of body.items)
        objects.push(kind && body.apiVersion ? { apiVersion: body.apiVersion, kind, ...item } : item)
      next = body.metadata.continue || undefined
      // The first page's version is the snapshot every page belongs to.
      resourceVersion ||= body.metadata.resourceVersion
      if (this.abort.signal.aborted) return
    } while (next)
    this.resourceVersion = resourceVersion
    this.onChange({ type: 'LISTED', objects, resourceVersion })
  }

  private async watch(from: string): Promise<void> {
    const timeoutSeconds = Math.ceil((this.options.watchTimeoutSeconds * (1 + Math.random())) / 2)
    const query = this.query({
      watch: '1',
      resourceVersion: from,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    })
    await this.client.stream(
      `${this.options.path}?${query}`,
      (line) => this.received(line),
      this.options.idleTimeoutMs,
      this.abort.signal,
    )
  }

  private received(line: string): void {
    let event: WatchEvent
    try {
      event = JSON.parse(line) as WatchEvent
    } catch {
      throw new KubernetesError('GARBAGE', `watch ${this.options.path}: a line that is not JSON: ${line.slice(0, 200)}`)
    }
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; message?: string }
      throw statusError(status.code ?? 500, `watch ${this.options.path}: ${status.message ?? 'ERROR event'}`)
    }
    const resourceVersion = (event.object as KubeObject | undefined)?.metadata?.resourceVersion
    if (typeof resourceVersion !== 'string')
      throw new KubernetesError(
        'GARBAGE',
        `watch ${this.options.path}: an event without a resourceVersion: ${line.slice(0, 200)}`,
      )
    if (this.abort.signal.aborted) return
    this.resourceVersion = resourceVersion
    if (event.type === 'BOOKMARK') this.onChange({ type: 'BOOKMARK', resourceVersion })
    else if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED')
      this.onChange({ type: event.type, object: event.object as KubeObject, resourceVersion })
  }

  private query(extra: Record<string, string | undefined>): string {
    const params = new URLSearchParams()
    if (this.options.labelSelector) params.set('labelSelector', this.options.labelSelector)
    if (this.options.fieldSelector) params.set('fieldSelector', this.options.fieldSelector)
    for (const [key, value] of Object.entries(extra)) if (value !== undefined) params.set(key, value)
    return params.toString()
  }
}

interface ObjectList {
  readonly kind?: string
  readonly apiVersion?: string
  readonly metadata: { readonly resourceVersion: string; readonly continue?: string }
  readonly items: KubeObject[]
}

interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  readonly object: unknown
}
