import type { RecordCollector } from '../connectors/kafka/record-collector.js'
import { TracerSource } from '../connectors/tracer/tracer-source.js'
import type { StreamRecord } from '../operators/record.js'
import type { RecordError } from '../operators/record-error.js'
import type { StateDirectory } from '../state/state-directory.js'
import type { TopologyGraph } from '../topology/graph.js'
import type { Logger } from './logger.js'

/**
 * Which parts of a topology with non-Kafka sources this replica runs: `on` both the sources'
 * ingest and the steps; `only` the ingest (the per-node DaemonSet of a tracer); `off` only the
 * steps, which read what the other replicas ingested (the StatefulSet).
 */
export type IngestMode = 'on' | 'off' | 'only'

/**
 * The non-Kafka sources this replica reads, each landing its records in its topic through the
 * replica's producer, inside the commit cycle: records computed between two commits go out
 * with that commit (in its transaction, under exactly-once), and the sources' state reaches
 * LMDB after it, like a task's stores.
 */
export class SourceIngest {
  private constructor(private readonly tracers: TracerSource[]) {}

  static open(graph: TopologyGraph, directory: StateDirectory, processMs: Map<string, number>, log: Logger): SourceIngest {
    const tracers = graph.sources.filter((source) => source.tracer).map((source) => {
      const settings = source.tracer!
      // Two processes polling one tracer into one state dir would each count the same traffic.
      directory.lockTask(`source-${source.name}`)
      return new TracerSource(source.name, source.topic, settings, directory.storePartition(settings.store, source.topic, 0), directory, processMs, log)
    })
    return new SourceIngest(tracers)
  }

  static hasSources(graph: TopologyGraph): boolean {
    return graph.sources.some((source) => source.tracer)
  }

  start(): void {
    for (const tracer of this.tracers) tracer.start()
  }

  /** Lands what the sources read since the last call; the run loop calls it between batches. */
  drain(collector: RecordCollector, deadLetter: (record: StreamRecord, error: RecordError, step: string) => void): number {
    let produced = 0
    for (const tracer of this.tracers) if (tracer.hasPending) produced += tracer.drain(collector, deadLetter)
    return produced
  }

  /** The commit's last step for sources: their state, now that Kafka has what was computed from it. */
  commit(directory: StateDirectory): void {
    for (const tracer of this.tracers) tracer.commit(directory)
  }

  async stop(): Promise<void> {
    await Promise.all(this.tracers.map((tracer) => tracer.stop()))
  }

  /** Read failures by source and code (`source\0code`), for kubestream_source_errors_total. */
  get errors(): Map<string, number> {
    const out = new Map<string, number>()
    for (const tracer of this.tracers) for (const [code, count] of tracer.errors) out.set(`${tracer.name}\u0000${code}`, count)
    return out
  }

  /** Documents read per source, for kubestream_source_documents_total. */
  get documents(): Map<string, number> {
    return new Map(this.tracers.map((tracer) => [tracer.name, tracer.documents]))
  }
}
