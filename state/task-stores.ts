import type { RecordCollector } from '../core/record-collector.js'
import { KeyValueStore } from './key-value-store.js'
import { SessionStore } from './session-store.js'
import type { StateDirectory } from './state-directory.js'
import type { StoreDefinition } from './store-definition.js'
import type { StorePartition } from './store-partition.js'
import { WindowStore } from './window-store.js'

/**
 * The stores of one task (Kafka Streams' ProcessorStateManager): opened and locked when the
 * task is created, restored before it processes, changelogged and checkpointed by the commit.
 */
export class TaskStores {
  readonly partitions: readonly StorePartition[]
  private readonly keyValue = new Map<string, KeyValueStore>()
  private readonly windowed = new Map<string, WindowStore>()
  private readonly sessions = new Map<string, SessionStore>()

  constructor(
    readonly taskId: string,
    partition: number,
    definitions: Iterable<StoreDefinition>,
    private readonly directory: StateDirectory,
  ) {
    directory.lockTask(taskId)
    const partitions: StorePartition[] = []
    for (const definition of definitions) {
      const bytes = directory.storePartition(definition.name, definition.changelogTopic, partition)
      partitions.push(bytes)
      if (definition.type === 'window') this.windowed.set(definition.name, new WindowStore(bytes))
      else if (definition.type === 'session') this.sessions.set(definition.name, new SessionStore(bytes))
      else this.keyValue.set(definition.name, new KeyValueStore(bytes))
    }
    this.partitions = partitions
  }

  keyValueStore(name: string): KeyValueStore {
    const store = this.keyValue.get(name)
    if (!store) throw new Error(`task ${this.taskId} has no key-value store "${name}"`)
    return store
  }

  windowStore(name: string): WindowStore {
    const store = this.windowed.get(name)
    if (!store) throw new Error(`task ${this.taskId} has no window store "${name}"`)
    return store
  }

  sessionStore(name: string): SessionStore {
    const store = this.sessions.get(name)
    if (!store) throw new Error(`task ${this.taskId} has no session store "${name}"`)
    return store
  }

  /** Hands the interval's changes to the producer: one record per changed key, to the task's changelog partition. */
  sendChangelog(collector: RecordCollector, timestamp: number): void {
    for (const store of this.partitions) {
      for (const { key, value } of store.changes()) {
        collector.send({
          topic: store.changelogTopic,
          partition: store.partition,
          key,
          value,
          headers: undefined,
          timestamp,
        })
      }
    }
  }

  /** Keys written since the last commit, over all the task's stores. */
  get pendingChanges(): number {
    let changes = 0
    for (const store of this.partitions) changes += store.pendingChanges
    return changes
  }

  /** Stores with changes since the last commit: their checkpoints move. */
  changed(): StorePartition[] {
    return this.partitions.filter((store) => store.pendingChanges > 0)
  }

  /** Lets the stores go: unapplied changes are dropped (the changelog and restore cover them). */
  close(): void {
    for (const store of this.partitions) store.discardChanges()
    this.directory.unlockTask(this.taskId)
  }
}
