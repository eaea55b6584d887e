import { createHash } from 'node:crypto'
import type { KubeObject } from '../../connectors/kubernetes/list-watch.js'
import type { LandedObjects } from './landed-objects.js'
import type { TableRows } from './object-tables.js'

/** Hands a record to the landing topic; a null value is a tombstone. */
export type Land = (key: string, value: unknown, timestamp: number) => void

/**
 * How one resource's changes become records. `upsert` for an object listed, added or modified;
 * `remove` for one the watch saw deleted; `removeLanded` for one landed earlier that a re-list
 * no longer has (deleted while nobody watched).
 */
export interface ObjectLanding {
  upsert(object: KubeObject): void
  remove(object: KubeObject): void
  removeLanded(namespace: string, uid: string): void
}

interface LandedEvent {
  readonly rv: string
  readonly event: KubeObject
}

/**
 * The event router's envelope, keyed by the event's uid: ADDED the first time an event is
 * landed, UPDATED (with `old_event`, the version landed before) whenever its resourceVersion
 * moved — each repeat (count / series.count) included —, DELETED when it goes away (the router
 * never sends those). An object whose resourceVersion is the one already landed (a re-list, a
 * replayed watch) lands nothing.
 */
export class EventEnvelopes implements ObjectLanding {
  constructor(
    private readonly landed: LandedObjects,
    private readonly land: Land,
  ) {}

  upsert(event: KubeObject): void {
    const { namespace = '', uid, resourceVersion } = event.metadata
    const before = this.landed.get<LandedEvent>(namespace, uid)
    if (before?.rv === resourceVersion) return
    const envelope = before ? { verb: 'UPDATED', event, old_event: before.event } : { verb: 'ADDED', event }
    this.land(uid, envelope, eventTime(event))
    this.landed.put(namespace, uid, { rv: resourceVersion, event } satisfies LandedEvent)
  }

  remove(event: KubeObject): void {
    const { namespace = '', uid } = event.metadata
    if (!this.landed.get<LandedEvent>(namespace, uid)) return
    this.land(uid, { verb: 'DELETED', event }, Date.now())
    this.landed.delete(namespace, uid)
  }

  removeLanded(namespace: string, uid: string): void {
    const before = this.landed.get<LandedEvent>(namespace, uid)
    if (before) this.remove(before.event)
  }
}

interface LandedRows {
  readonly rv: string
  readonly keys: readonly string[]
  /** A digest of the row: an object whose change does not show in its row (a pod's conditions) lands nothing. */
  readonly digest: string
}

/**
 * Table rows keyed by IP (pods, services, nodes): an upsert per key the object holds, a
 * tombstone for each key it no longer holds. A key is tombstoned only by the object that holds
 * it: when a new pod took an IP before the old pod's deletion arrived, that deletion must not
 * erase the new pod's row.
 */
export class TableLanding implements ObjectLanding {
  constructor(
    private readonly landed: LandedObjects,
    private readonly land: Land,
    private readonly rowsOf: (object: KubeObject) => TableRows,
  ) {}

  upsert(object: KubeObject): void {
    const { namespace = '', uid, resourceVersion } = object.metadata
    const before = this.landed.get<LandedRows>(namespace, uid)
    if (before?.rv === resourceVersion) return
    const { keys, value } = this.rowsOf(object)
    const digest = createHash('sha1')
      .update(JSON.stringify([keys, value]))
      .digest('base64')
    if (before?.digest !== digest) {
      const now = Date.now()
      for (const key of before?.keys ?? []) if (!keys.includes(key)) this.tombstone(key, uid, now)
      for (const key of keys) {
        this.landed.hold(key, uid)
        this.land(key, value, now)
      }
    }
    this.landed.put(namespace, uid, { rv: resourceVersion, keys, digest } satisfies LandedRows)
  }

  remove(object: KubeObject): void {
    this.removeLanded(object.metadata.namespace ?? '', object.metadata.uid)
  }

  removeLanded(namespace: string, uid: string): void {
    const before = this.landed.get<LandedRows>(namespace, uid)
    if (!before) return
    const now = Date.now()
    for (const key of before.keys) this.tombstone(key, uid, now)
    this.landed.delete(namespace, uid)
  }

  private tombstone(key: string, uid: string, now: number): void {
    if (this.landed.holder(key) !== uid) return
    this.landed.letGo(key)
    this.land(key, null, now)
  }
}

/** When an event last happened: the record's timestamp, so windows count repeats when they occurred. */
export function eventTime(event: KubeObject): number {
  const e = event as Record<string, unknown> & {
    series?: { lastObservedTime?: string }
    metadata: { creationTimestamp?: string }
  }
  const candidates = [
    e.series?.lastObservedTime,
    e.lastTimestamp,
    e.deprecatedLastTimestamp,
    e.eventTime,
    e.firstTimestamp,
    e.metadata.creationTimestamp,
  ]
  for (const candidate of candidates) {
    const ms = typeof candidate === 'string' ? Date.parse(candidate) : NaN
    if (!Number.isNaN(ms)) return ms
  }
  return Date.now()
}
