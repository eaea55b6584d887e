import type Kafka from 'node-rdkafka'
import type { LibrdkafkaConfig } from '../connectors/kafka/client-config.js'
import type { Logger } from '../core/logger.js'
import { RecordError, type DeadLetter } from '../core/record-error.js'
import { NO_HEADERS } from '../core/record.js'
import {
  ChangelogConsumer,
  messagesByPartition,
  OFFSET_BEGINNING,
  partitionKey,
} from './internals/changelog-consumer.js'
import { encodeStoreKey, encodeStoreValue, ReadCachedKeyValueStore, type KeyValueStore } from './key-value-store.js'
import type { StateDirectory } from './state-directory.js'
import type { GlobalTableDefinition } from './store-definition.js'
import type { StorePartition } from './store-partition.js'

interface GlobalTable {
  readonly definition: GlobalTableDefinition
  readonly bytes: StorePartition
  readonly store: ReadCachedKeyValueStore
}

/**
 * The global tables of this replica (Kafka Streams' GlobalStateManager): each reads every
 * partition of its topic into a local LMDB store, with the offset reached per partition as its
 * checkpoint — the topic is its own changelog. Before any task processes, `bootstrap` reads to
 * the end of every partition; afterwards the run loop calls `poll` between batches to apply
 * whatever arrived, so joins see updates within a batch or so (not in step with stream time:
 * a global table is the latest state, as in Kafka Streams).
 */
export class GlobalTables {
  /** Table records applied since start; read by metrics. */
  appliedRecords = 0
  private readonly byName = new Map<string, GlobalTable>()
  private readonly byTopic = new Map<string, GlobalTable>()

  private constructor(
    private readonly consumer: ChangelogConsumer,
    tables: GlobalTable[],
    private readonly directory: StateDirectory,
    private readonly deadLetter: DeadLetter,
    private readonly log: Logger,
  ) {
    for (const table of tables) {
      this.byName.set(table.definition.store, table)
      this.byTopic.set(table.definition.topic, table)
    }
  }

  static async connect(
    config: LibrdkafkaConfig,
    definitions: readonly GlobalTableDefinition[],
    directory: StateDirectory,
    deadLetter: DeadLetter,
    log: Logger,
  ): Promise<GlobalTables> {
    const consumer = await ChangelogConsumer.connect(config, 'global table')
    const tables = definitions.map((definition) => {
      const bytes = directory.globalStore(definition.store, definition.topic)
      return { definition, bytes, store: new ReadCachedKeyValueStore(bytes) }
    })
    return new GlobalTables(consumer, tables, directory, deadLetter, log)
  }

  store(name: string): KeyValueStore {
    const table = this.byName.get(name)
    if (!table) throw new Error(`no global table "${name}"`)
    return table.store
  }

  /** Assigns every partition at its checkpoint and reads each to its end. */
  async bootstrap(partitionCounts: ReadonlyMap<string, number>): Promise<void> {
    const started = Date.now()
    const assignments: Kafka.Assignment[] = []
    for (const table of this.byName.values()) {
      const { topic } = table.definition
      for (let partition = 0; partition < (partitionCounts.get(topic) ?? 0); partition++) {
        assignments.push({
          topic,
          partition,
          offset: this.directory.globalCheckpoint(table.bytes, partition) ?? OFFSET_BEGINNING,
        })
      }
    }
    const remaining = new Set(assignments.map((a) => partitionKey(a.topic, a.partition)))
    const ends: Array<{ topic: string; partition: number }> = []
    const stopListening = this.consumer.onEndOfPartition((eof) => void ends.push(eof))
    this.consumer.assign(assignments)
    try {
      while (remaining.size > 0) {
        this.apply(await this.consumer.consume(10_000, 200))
        for (const eof of ends.splice(0)) remaining.delete(partitionKey(eof.topic, eof.partition))
      }
    } finally {
      stopListening()
    }
    this.log.info(
      { tables: [...this.byName.keys()], records: this.appliedRecords, ms: Date.now() - started },
      'global tables loaded',
    )
  }

  /** Applies what has arrived since the last call, without waiting for more. */
  async poll(): Promise<void> {
    this.apply(await this.consumer.consume(10_000, 0))
  }

  close(): Promise<void> {
    return this.consumer.close()
  }

  private apply(messages: Kafka.Message[]): void {
    for (const run of messagesByPartition(messages).values()) {
      const table = this.byTopic.get(run[0].topic)!
      const changes: Array<{ key: Buffer; value: Buffer | null }> = []
      for (const message of run) {
        const change = this.change(table, message)
        if (change) changes.push(change)
      }
      this.directory.restoreGlobal(table.bytes, run[0].partition, changes, run[run.length - 1].offset + 1)
      table.store.invalidate()
      this.appliedRecords += run.length
    }
  }

  /** A record as a store change; one that cannot be read goes to the dead-letter topic instead. */
  private change(table: GlobalTable, message: Kafka.Message): { key: Buffer; value: Buffer | null } | undefined {
    const { sourceName, valueSerde } = table.definition
    const key = message.key === null || message.key === undefined ? null : String(message.key)
    try {
      if (key === null) throw new RecordError('NULL_KEY', 'a table record needs a key')
      if (message.value === null) return { key: encodeStoreKey(key), value: null }
      return { key: encodeStoreKey(key), value: encodeStoreValue(valueSerde.decode(message.value)) }
    } catch (error) {
      if (!(error instanceof RecordError)) throw error
      const origin = {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        key: key === null ? null : Buffer.from(key),
        value: message.value,
      }
      this.deadLetter(
        {
          key,
          value: null,
          headers: NO_HEADERS,
          timestamp: message.timestamp ?? Date.now(),
          encodedValue: message.value ?? undefined,
          origin,
        },
        error,
        sourceName,
      )
      return undefined
    }
  }
}
