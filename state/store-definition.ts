import type { Serde } from '../connectors/serde/serde.js'

/** A store of a stateful step, as the topology's compile names it. */
export interface StoreDefinition {
  readonly name: string
  /** keyValue for unwindowed aggregations and tables, window for time windows, session for session windows. */
  readonly type: 'keyValue' | 'window' | 'session'
  /** `<application id>-<store>-changelog`: compacted, one partition per task. */
  readonly changelogTopic: string
  readonly step: string
}

/** A table every replica reads whole (Kafka Streams' GlobalKTable): its topic is its changelog. */
export interface GlobalTableDefinition {
  readonly store: string
  readonly topic: string
  /** The source that reads it: bad records are dead-lettered as this step's. */
  readonly sourceName: string
  readonly valueSerde: Serde
}
