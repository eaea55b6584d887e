/** What one replica tells the others: where it answers queries and which store partitions it holds. */
export interface ReplicaAdvert {
  /** Its instance id (the pod name). */
  readonly instance: string
  /** Where it answers queries (`--advertised-url`). */
  readonly url: string
  /** Store name → the partitions its tasks own. */
  readonly active: Readonly<Record<string, readonly number[]>>
  /** Store name → the partitions it keeps standby copies of. */
  readonly standby: Readonly<Record<string, readonly number[]>>
}

/**
 * Who holds which store partition, as the replicas' adverts say. Adverts arrive in one total
 * order (the offsets of a one-partition topic), so when two replicas claim a partition — the
 * group moved it, and the old owner's advert is not yet replaced or its owner died — the later
 * claim is the current one.
 */
export class RoutingTable {
  private readonly adverts = new Map<string, { advert: ReplicaAdvert; order: number }>()

  /** An advert read at `order`; null when the replica left. */
  apply(instance: string, advert: ReplicaAdvert | null, order: number): void {
    if (advert === null) this.adverts.delete(instance)
    else this.adverts.set(instance, { advert, order })
  }

  /** The replica whose tasks own the partition, by the latest claim; undefined while nobody claims it. */
  owner(store: string, partition: number): ReplicaAdvert | undefined {
    let latest: { advert: ReplicaAdvert; order: number } | undefined
    for (const entry of this.adverts.values()) {
      if (entry.advert.active[store]?.includes(partition) && (!latest || entry.order > latest.order)) latest = entry
    }
    return latest?.advert
  }

  /** The replicas that keep a standby copy of the partition. */
  standbys(store: string, partition: number): ReplicaAdvert[] {
    return [...this.adverts.values()]
      .filter(({ advert }) => advert.standby[store]?.includes(partition))
      .map(({ advert }) => advert)
  }

  replicas(): ReplicaAdvert[] {
    return [...this.adverts.values()].map(({ advert }) => advert)
  }
}
