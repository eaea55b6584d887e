import type { CompiledTopology } from '../../topology/compile.js'
import type { WindowDefinition } from '../../topology/graph.js'
import { QueryError } from './query-error.js'

/** A store as queries see it: its kind, how many partitions (tasks) hold it, its windows. */
export interface QueryableStore {
  readonly name: string
  readonly type: 'keyValue' | 'window' | 'session'
  readonly subTopology: number
  readonly partitions: number
  readonly changelogTopic: string
  /** Window and session stores: their windows, for the default bounds and the span limit. */
  readonly window?: WindowDefinition
}

/** The topology's stores by name, with the partition counts the internal topics were made with. */
export class StoreCatalog {
  private readonly stores = new Map<string, QueryableStore>()

  constructor(compiled: CompiledTopology, partitionsOf: ReadonlyMap<number, number>) {
    for (const sub of compiled.subTopologies) {
      for (const store of sub.stores.values()) {
        const step = compiled.graph.nodes.get(store.step)
        const operator = step?.kind === 'step' ? step.operator : undefined
        this.stores.set(store.name, {
          name: store.name,
          type: store.type,
          subTopology: sub.id,
          partitions: partitionsOf.get(sub.id) ?? 0,
          changelogTopic: store.changelogTopic,
          window: operator?.type === 'aggregate' ? operator.window : undefined,
        })
      }
    }
  }

  get(name: string): QueryableStore {
    const store = this.stores.get(name)
    if (!store) {
      const known = [...this.stores.keys()].join(', ') || 'none'
      throw new QueryError('NOT_FOUND', `no store "${name}" in this topology (stores: ${known})`)
    }
    return store
  }

  all(): QueryableStore[] {
    return [...this.stores.values()]
  }
}
