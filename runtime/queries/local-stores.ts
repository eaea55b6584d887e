import type { StoreBytes } from '../../state/store-partition.js'
import type { QueryableStore } from './store-catalog.js'

/** The copies of store partitions this replica holds, as the runtime knows them right now. */
export interface LocalStores {
  /** This replica's instance id and the URL it advertises. */
  readonly instance: string
  readonly url: string
  /** The copy a task here owns, and whether that task still restores it; undefined when no task here owns it. */
  active(store: QueryableStore, partition: number): { restoring: boolean; bytes: StoreBytes } | undefined
  /** A standby copy kept here, with how many changelog records it is behind (undefined: not known yet). */
  standby(store: QueryableStore, partition: number): { bytes: StoreBytes; lagRecords: number | undefined } | undefined
}
