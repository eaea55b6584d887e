import type { StreamTask } from '../stream-task.js'
import type { ThreadMeters } from '../thread-meters.js'
import type { TopologyLayout } from './topology-layout.js'

/** A dead letter as the page lists the latest of them. */
export interface DeadLetterNote {
  readonly time: number
  readonly step: string
  readonly code: string
  readonly reason: string
}

/** Where the topology page's figures come from: the replica's own counters, read when the page asks. */
export interface StatusSources {
  readonly applicationId: string
  readonly instance: string
  readonly state: string
  readonly ready: boolean
  readonly meters: ThreadMeters
  readonly layout: TopologyLayout
  readonly consumedByTopic: ReadonlyMap<string, number>
  readonly producedByTopic: ReadonlyMap<string, number>
  readonly stepRecords: ReadonlyMap<string, number>
  readonly tasks: readonly StreamTask[]
  /** The partition's end as the consumer last fetched it. */
  readonly fetchedEnd: (topic: string, partition: number) => number | undefined
  /** Keyed `step\0code`. */
  readonly deadLetterCounts: ReadonlyMap<string, number>
  readonly latestDeadLetters: readonly DeadLetterNote[]
}

/** What `/api/status` answers: one refresh of the topology page. */
export interface ConsoleStatus {
  readonly time: number
  readonly applicationId: string
  readonly instance: string
  readonly state: string
  readonly ready: boolean
  /** The same figures as /metrics' kafka_streams_stream_thread_* series. */
  readonly thread: {
    readonly processTotal: number
    readonly processRate: number
    readonly commitTotal: number
    readonly commitRate: number
    readonly commitLatencyAvg: number
    readonly commitLatencyMax: number
  }
  /** Per graph node: records so far (a store: its entries on this replica); rates are the page's to derive. */
  readonly nodes: Readonly<Record<string, number>>
  readonly tasks: ReadonlyArray<{ id: string; state: string; inputs: string[] }>
  /** Each input partition of a task here: the offset after the last record processed, the end, the lag. */
  readonly partitions: ReadonlyArray<{ topic: string; partition: number; position: number; end?: number; lag?: number }>
  readonly deadLetters: {
    readonly counts: ReadonlyArray<{ step: string; code: string; count: number }>
    readonly latest: readonly DeadLetterNote[]
  }
}

/** One snapshot of the replica for the topology page. Cheap: counters and LMDB's entry counts. */
export function consoleStatus(sources: StatusSources): ConsoleStatus {
  const { meters } = sources
  const commit = meters.commit.stats()
  return {
    time: Date.now(),
    applicationId: sources.applicationId,
    instance: sources.instance,
    state: sources.state,
    ready: sources.ready,
    thread: {
      processTotal: meters.processTotal,
      processRate: meters.process.rate(),
      commitTotal: meters.commitTotal,
      commitRate: meters.commit.rate('count'),
      commitLatencyAvg: commit.avg,
      commitLatencyMax: commit.max,
    },
    nodes: nodeTotals(sources),
    tasks: sources.tasks.map((task) => ({
      id: task.id,
      state: task.state,
      inputs: [...task.inputs.keys()].map((topic) => `${topic}-${task.partition}`),
    })),
    partitions: sources.tasks.flatMap((task) =>
      [...task.inputs.values()].map(({ topic, progress }) => {
        const end = sources.fetchedEnd(topic, task.partition)
        const position = Math.max(0, progress.nextOffset)
        return { topic, partition: task.partition, position, end, lag: end === undefined ? undefined : end - position }
      }),
    ),
    deadLetters: {
      counts: [...sources.deadLetterCounts].map(([label, count]) => {
        const [step, code] = label.split('\u0000')
        return { step, code, count }
      }),
      latest: sources.latestDeadLetters,
    },
  }
}

function nodeTotals(sources: StatusSources): Record<string, number> {
  const entries = new Map<string, number>()
  for (const task of sources.tasks)
    for (const store of task.stores?.partitions ?? [])
      entries.set(store.storeName, (entries.get(store.storeName) ?? 0) + store.entryCount())
  const totals: Record<string, number> = {}
  for (const node of sources.layout.nodes) {
    const total =
      node.kind === 'source'
        ? sources.consumedByTopic.get(node.topic!)
        : node.kind === 'repartition'
          ? sources.producedByTopic.get(node.topic!)
          : node.kind === 'store'
            ? entries.get(node.name)
            : node.kind === 'table'
              ? undefined
              : sources.stepRecords.get(node.name)
    if (total !== undefined || node.kind === 'step' || node.kind === 'sink') totals[node.id] = total ?? 0
  }
  return totals
}
