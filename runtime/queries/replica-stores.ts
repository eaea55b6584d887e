import type { StandbyStores } from '../../state/standby-stores.js'
import type { StoreBytes } from '../../state/store-partition.js'
import { TaskState } from '../stream-task.js'
import type { TaskManager } from '../task-manager.js'
import type { LocalStores } from './local-stores.js'
import type { ReplicaAdvert } from './routing-table.js'
import type { QueryableStore } from './store-catalog.js'

/** The store partitions of this replica's tasks and standby copies, read as queries read them: committed. */
export class ReplicaStores implements LocalStores {
  constructor(
    readonly instance: string,
    readonly url: string,
    private readonly tasks: TaskManager,
    private readonly standbys: () => StandbyStores | undefined,
  ) {}

  active(store: QueryableStore, partition: number): { restoring: boolean; bytes: StoreBytes } | undefined {
    const task = this.tasks.get(`${store.subTopology}_${partition}`)
    const bytes = task?.stores?.partitions.find((p) => p.storeName === store.name)
    if (!task || !bytes || task.state === TaskState.CLOSED) return undefined
    return { restoring: task.state === TaskState.RESTORING, bytes: bytes.committed() }
  }

  standby(store: QueryableStore, partition: number) {
    return this.standbys()?.copy(store.changelogTopic, partition)
  }

  /** What this replica holds now, for the others' routing tables. */
  advert(): ReplicaAdvert {
    const active: Record<string, number[]> = {}
    for (const task of this.tasks.all())
      for (const { storeName, partition } of task.stores?.partitions ?? []) (active[storeName] ??= []).push(partition)
    const standby: Record<string, number[]> = {}
    for (const { store, partition } of this.standbys()?.standbyPartitions() ?? [])
      (standby[store] ??= []).push(partition)
    return { instance: this.instance, url: this.url, active, standby }
  }
}
