import type { StorePartition } from '../../state/store-partition.js'

/**
 * What a Kubernetes source has landed, in its state store: per object (namespace + uid) the
 * resourceVersion last landed and what the landing needs to remember (the event, for the next
 * `old_event`; the table keys it holds); per table key the object that holds it. Writes go through the store's buffer
 * and reach LMDB (and
 * the changelog) with the commit, after Kafka has the records.
 */
export class LandedObjects {
  constructor(private readonly store: StorePartition) {}

  get<T>(namespace: string, uid: string): T | undefined {
    return decode<T>(this.store.get(objectKey(namespace, uid)))
  }

  put(namespace: string, uid: string, entry: unknown): void {
    this.store.put(objectKey(namespace, uid), Buffer.from(JSON.stringify(entry)))
  }

  delete(namespace: string, uid: string): void {
    this.store.delete(objectKey(namespace, uid))
  }

  /**
   * Every object landed in a namespace (`undefined`: all of them), as [namespace, uid]; their entries stay undecoded.
   */
  inScope(namespace: string | undefined): Array<[string, string]> {
    const prefix = namespace === undefined ? 'o\u0000' : `o\u0000${namespace}\u0000`
    return this.store.range(Buffer.from(prefix), Buffer.from(prefix.slice(0, -1) + '\u0001')).map(([key]) => {
      const [, ns, uid] = key.toString('utf8').split('\u0000')
      return [ns, uid]
    })
  }

  /** The uid of the object whose row a table key holds. */
  holder(key: string): string | undefined {
    return this.store.get(Buffer.from(`k\u0000${key}`))?.toString('utf8')
  }

  hold(key: string, uid: string): void {
    this.store.put(Buffer.from(`k\u0000${key}`), Buffer.from(uid))
  }

  letGo(key: string): void {
    this.store.delete(Buffer.from(`k\u0000${key}`))
  }
}

function objectKey(namespace: string, uid: string): Buffer {
  return Buffer.from(`o\u0000${namespace}\u0000${uid}`)
}

function decode<T>(bytes: Buffer | undefined): T | undefined {
  return bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as T)
}
