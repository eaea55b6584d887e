import { hostname } from 'node:os'
import {
  connectionKey,
  isLoopbackPair,
  parseConnection,
  type MalformedConnectionError,
  type TracerConnection,
} from '../../connectors/tracer/connection.js'
import { HttpPoller } from '../../connectors/tracer/http-poller.js'
import { NdjsonFileReader, NdjsonSocketReader } from '../../connectors/tracer/ndjson-reader.js'
import type { DocumentReader, TracerDocument, TracerReadError } from '../../connectors/tracer/tracer-document.js'
import type { Logger } from '../../core/logger.js'
import type { RecordCollector } from '../../core/record-collector.js'
import { RecordError, type DeadLetter } from '../../core/record-error.js'
import type { StreamRecord } from '../../core/record.js'
import type { StateDirectory } from '../../state/state-directory.js'
import type { StorePartition } from '../../state/store-partition.js'
import type { SourceNode, TracerSettings } from '../../topology/graph.js'
import type { Source, SourceContext } from '../source.js'
import { ConnectionCounters, storeKey } from './connection-counters.js'

/** What one connection record carries to the landing topic (keyed `source|dest|sport|dport`). */
export interface ConnectionRecord {
  readonly node: string
  readonly source: string
  readonly dest: string
  readonly sport: number
  readonly dport: number
  readonly type: TracerConnection['type']
  readonly family: TracerConnection['family']
  readonly direction: TracerConnection['direction']
  readonly netNs: number
  readonly pid: number
  /** Deltas since the previous document. */
  readonly sentBytes: number
  readonly recvBytes: number
  readonly retransmits: number
  /** Epoch ms of the document: also the record's timestamp, so windows count traffic when it was seen. */
  readonly time: number
}

/**
 * A node's network tracer as a source (Quix Streams' Source): it reads /connections documents,
 * turns each connection into its deltas since the previous document and lands them in a Kafka
 * topic, which the topology's steps then read like any source. The last counters live in a
 * state store; its changes reach LMDB only once Kafka has accepted the records computed from
 * them (under exactly-once, once their transaction committed), so a restart neither counts
 * twice nor loses an interval.
 */
export class TracerSource implements Source {
  /** Read failures by code, and documents read; for metrics. */
  readonly errors = new Map<string, number>()
  documents = 0
  private readonly pending: TracerDocument[] = []
  /** Documents landed since the last checkpoint: an aborted transaction lands them again. */
  private landedSinceCheckpoint: TracerDocument[] = []
  private readonly counters: ConnectionCounters
  private readonly reader: DocumentReader
  private readonly node: string
  private position: number | undefined
  readonly isLeader = undefined

  /** The counters store is the tracer's alone: it has no changelog, and lives on the node. */
  static open(source: SourceNode, context: SourceContext): TracerSource {
    const settings = source.tracer!
    const store = context.directory.storePartition(settings.store, source.topic, 0)
    return new TracerSource(
      source.name,
      source.topic,
      settings,
      store,
      context.directory,
      context.processMs,
      context.log,
    )
  }

  constructor(
    readonly name: string,
    private readonly topic: string,
    private readonly settings: TracerSettings,
    private readonly store: StorePartition,
    directory: StateDirectory,
    private readonly processMs: Map<string, number>,
    private readonly log: Logger,
  ) {
    this.counters = new ConnectionCounters(store)
    this.node = settings.node || process.env.NODE_NAME || hostname()
    // A followed file resumes after the last document whose deltas were committed: the store's checkpoint.
    this.position = settings.mode === 'file' ? (directory.checkpoint(store) ?? 0) : undefined
    this.reader = readerFor(settings, this.position ?? 0)
  }

  start(): void {
    let failing = false
    this.reader.start(
      (document) => {
        if (failing) this.log.info({ source: this.name, tracer: this.reader.describe }, 'tracer answers again')
        failing = false
        this.pending.push(document)
      },
      (error: TracerReadError) => {
        this.errors.set(error.code, (this.errors.get(error.code) ?? 0) + 1)
        // Once per outage at warn; the retries after it at debug, with the metric counting them.
        this.log[failing ? 'debug' : 'warn'](
          { source: this.name, tracer: this.reader.describe, code: error.code, err: error.message },
          'cannot read the tracer; retrying with backoff',
        )
        failing = true
      },
    )
    this.log.info(
      { source: this.name, tracer: this.reader.describe, node: this.node, topic: this.topic },
      'reading the network tracer',
    )
  }

  /** Has documents waiting for `drain`. */
  get hasPending(): boolean {
    return this.pending.length > 0
  }

  /**
   * Turns the documents read since the last call into connection records for the landing
   * topic, and their counters into the store's write buffer. A malformed entry goes to the
   * dead-letter topic; the rest of its document is processed.
   */
  land(collector: RecordCollector, deadLetter: DeadLetter): number {
    const started = performance.now()
    let parseMs = 0
    let produced = 0
    for (const document of this.pending.splice(0)) {
      this.landedSinceCheckpoint.push(document)
      parseMs += document.parseMs
      const seen = new Set<string>()
      for (const entry of document.connections) {
        let connection: TracerConnection
        try {
          connection = parseConnection(entry)
        } catch (error) {
          const malformed = error as MalformedConnectionError
          if (malformed.storeKey) seen.add(malformed.storeKey)
          deadLetter(
            this.deadLetterRecord(entry, document),
            new RecordError('DESERIALIZATION', `malformed tracer connection: ${malformed.message}`),
            this.name,
          )
          continue
        }
        if (!this.settings.keepLoopback && isLoopbackPair(connection)) continue
        seen.add(storeKey(connection))
        const deltas = this.counters.update(connection)
        const record: ConnectionRecord = {
          node: this.node,
          source: connection.source,
          dest: connection.dest,
          sport: connection.sport,
          dport: connection.dport,
          type: connection.type,
          family: connection.family,
          direction: connection.direction,
          netNs: connection.netNs,
          pid: connection.pid,
          sentBytes: deltas.sentBytes,
          recvBytes: deltas.recvBytes,
          retransmits: deltas.retransmits,
          time: document.receivedAt,
        }
        collector.send({
          topic: this.topic,
          key: connectionKey(connection),
          value: Buffer.from(JSON.stringify(record)),
          headers: undefined,
          timestamp: document.receivedAt,
        })
        produced++
      }
      this.counters.prune(seen)
      if (document.position !== undefined) this.position = document.position
      this.documents++
    }
    this.processMs.set(this.name, (this.processMs.get(this.name) ?? 0) + parseMs + performance.now() - started)
    return produced
  }

  /** Nothing to send: the counters have no changelog. */
  sendChangelog(): void {}

  /** After Kafka accepted what `land` produced: the counters (and the file position) to LMDB. */
  async checkpoint(directory: StateDirectory): Promise<void> {
    this.landedSinceCheckpoint = []
    if (this.store.pendingChanges === 0 && (this.position ?? 0) === (directory.checkpoint(this.store) ?? 0)) return
    directory.commit([[this.store, this.position ?? 0]])
  }

  /**
   * The transaction with the deltas landed since the last checkpoint was aborted: the counters
   * go back to the checkpoint and the same documents land again, before any newer one, giving
   * the same deltas with the same timestamps.
   */
  rewind(): void {
    this.store.discardChanges()
    this.pending.unshift(...this.landedSinceCheckpoint)
    this.landedSinceCheckpoint = []
  }

  async stop(): Promise<void> {
    await this.reader.stop()
  }

  async close(): Promise<void> {}

  private deadLetterRecord(entry: unknown, document: TracerDocument): StreamRecord {
    const value = Buffer.from(JSON.stringify(entry) ?? 'undefined')
    return {
      key: null,
      value: entry,
      headers: {},
      timestamp: document.receivedAt,
      encodedValue: value,
      origin: { topic: this.reader.describe, partition: -1, offset: this.documents, key: null, value },
    }
  }
}

function readerFor(settings: TracerSettings, position: number): DocumentReader {
  switch (settings.mode) {
    case 'http':
      return new HttpPoller({
        socket: settings.address,
        path: settings.path,
        intervalMs: settings.intervalMs,
        timeoutMs: settings.timeoutMs,
        maxBackoffMs: settings.maxBackoffMs,
      })
    case 'file':
      return new NdjsonFileReader(settings.address, position, settings.intervalMs)
    case 'socket':
      return new NdjsonSocketReader(settings.address, settings.maxBackoffMs)
  }
}
