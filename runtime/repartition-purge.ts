import type { Logger } from '../core/logger.js'
import type { TopicPartition, TopicPartitionOffset } from '../core/record-consumer.js'

/** What the purge asks of the cluster (RecordsAdmin in production). */
export interface PurgeAdmin {
  committedOffsets(group: string, partitions: TopicPartition[]): Promise<TopicPartitionOffset[]>
  deleteRecordsBefore(offsets: TopicPartitionOffset[]): Promise<void>
}

/**
 * Deletes from the repartition topics what the group has committed (Kafka Streams' purge of
 * repartition records). Repartition topics keep their records forever (retention.ms -1),
 * because a record's timestamp is its event time and the broker's time-based retention would
 * delete an old event before it is counted; this purge is what keeps them from growing without
 * bound. It deletes only below the offsets the broker says the group committed, so a record
 * is never deleted before its outputs are in Kafka, under either guarantee. Each replica
 * purges the partitions it reads, every `intervalMs`; a failure is logged and tried again at
 * the next interval, never stopping processing.
 */
export class RepartitionPurge {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private failing = false
  /** Each `topic-partition`'s log start after the last purge: a partition is purged again only past it. */
  private readonly purgedTo = new Map<string, number>()

  constructor(
    private readonly admin: PurgeAdmin,
    private readonly group: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Starts purging the partitions `partitions()` names at each interval. */
  start(partitions: () => TopicPartition[]): void {
    this.timer = setInterval(() => {
      this.running ??= this.purge(partitions()).finally(() => (this.running = undefined))
    }, this.intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }

  private async purge(partitions: TopicPartition[]): Promise<void> {
    if (partitions.length === 0) return
    try {
      const committed = await this.admin.committedOffsets(this.group, partitions)
      const due = committed.filter(
        ({ topic, partition, offset }) => offset > (this.purgedTo.get(`${topic}-${partition}`) ?? 0),
      )
      if (due.length > 0) await this.admin.deleteRecordsBefore(due)
      for (const { topic, partition, offset } of due) this.purgedTo.set(`${topic}-${partition}`, offset)
      if (this.failing) this.log.info('repartition records purged again')
      this.failing = false
    } catch (error) {
      this.log[this.failing ? 'debug' : 'warn'](
        { err: error },
        'cannot purge committed repartition records; trying again at the next interval',
      )
      this.failing = true
    }
  }
}
