import { KafkaError } from '../connectors/kafka/kafka-error.js'
import type { RecordCollector } from '../core/record-collector.js'
import type { RecordConsumer } from '../core/record-consumer.js'
import type { CompiledTopology } from '../topology/compile.js'

/**
 * Kafka Streams' repartition topic settings: kept until purged (RepartitionPurge deletes what
 * the group committed), never by time — their records carry event time, which can be older
 * than any retention — in segments small enough for a purge to free disk soon.
 */
export const REPARTITION_TOPIC_CONFIG = {
  'cleanup.policy': 'delete',
  'retention.ms': '-1',
  'segment.bytes': String(50 * 1024 * 1024),
} as const

/**
 * Works out how many tasks each sub-topology has and creates its internal topics to match
 * (Kafka Streams' InternalTopicManager): a sub-topology has as many partitions as its source
 * topics, which must agree (co-partitioning); a repartition topic has its writer's count unless
 * the topology sets one; a changelog has one partition per task and is compacted. Existing
 * internal topics with another partition count are an error: their keys would be in the
 * wrong partitions.
 *
 * Returns the partition counts of the source topics and of each sub-topology.
 */
export async function prepareInternalTopics(
  compiled: CompiledTopology,
  consumer: RecordConsumer,
  collector: RecordCollector,
  /** Why source topics are missing from the metadata when the cause is not their absence (an ACL). */
  explainMissing: (topics: string[]) => Promise<Error | undefined> = () => Promise.resolve(undefined),
): Promise<TopicLayout> {
  const sourceTopics = [
    ...compiled.subTopologies.flatMap((sub) => sub.inputs.filter((i) => !i.repartition).map((i) => i.source.topic)),
    ...compiled.globalTables.map((table) => table.source.topic),
  ]
  const counts = await consumer.partitionCounts(sourceTopics)
  const missing = [...counts].filter(([, count]) => count === undefined).map(([topic]) => topic)
  if (missing.length > 0) {
    const explained = await explainMissing(missing)
    if (explained) throw explained
    throw new KafkaError(
      'MISSING_SOURCE_TOPIC',
      `source topic(s) ${missing.join(', ')} do not exist; create them first (kubestream never auto-creates inputs)`,
    )
  }
  const partitionsOf = new Map<number, number>()
  const expected: Array<[string, number]> = []
  // Upstream sub-topologies have lower ids: a repartition topic's writer is counted before its reader.
  for (const sub of compiled.subTopologies) {
    // A repartition topic read with source topics (a table joined) takes their count, so they are co-partitioned.
    const sourceCount = sub.inputs.find((i) => !i.repartition)?.source.topic
    const inputCounts = sub.inputs.map(({ source, repartition }) => {
      const count = repartition
        ? (repartition.partitions ?? (sourceCount ? counts.get(sourceCount)! : partitionsOf.get(repartition.upstream)!))
        : counts.get(source.topic)!
      return [source.topic, count] as const
    })
    const distinct = new Set(inputCounts.map(([, count]) => count))
    if (distinct.size > 1) {
      throw new KafkaError(
        'NOT_COPARTITIONED',
        `sub-topology ${sub.id} reads topics that are not co-partitioned: ` +
          `${inputCounts.map(([t, c]) => `${t} (${c} partitions)`).join(', ')}; give them the same partition count`,
      )
    }
    const partitions = inputCounts[0][1]
    partitionsOf.set(sub.id, partitions)
    for (const { repartition } of sub.inputs) {
      if (!repartition) continue
      await collector.ensureTopic(repartition.topic, { partitions, config: REPARTITION_TOPIC_CONFIG })
      expected.push([repartition.topic, partitions])
    }
    for (const store of sub.stores.values()) {
      await collector.ensureTopic(store.changelogTopic, { partitions, config: { 'cleanup.policy': 'compact' } })
      expected.push([store.changelogTopic, partitions])
    }
  }
  const actual = await settledCounts(
    consumer,
    expected.map(([topic]) => topic),
  )
  for (const [topic, partitions] of expected) {
    if (actual.get(topic) !== partitions) {
      throw new KafkaError(
        'INTERNAL_TOPIC_MISMATCH',
        `internal topic ${topic} has ${actual.get(topic) ?? 'no'} partitions, but this topology needs ` +
          `${partitions}; delete it (its state is rebuilt from the inputs) or restore the old partition count`,
      )
    }
  }
  return { sourceTopics: counts as Map<string, number>, subTopologies: partitionsOf }
}

export interface TopicLayout {
  /** Partition counts of the topology's source topics (tables included). */
  readonly sourceTopics: ReadonlyMap<string, number>
  /** Tasks per sub-topology id. */
  readonly subTopologies: ReadonlyMap<number, number>
}

/** Partition counts once every topic shows in metadata: a topic just created may take a moment. */
async function settledCounts(consumer: RecordConsumer, topics: string[]): Promise<Map<string, number | undefined>> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const counts = await consumer.partitionCounts(topics)
    if ([...counts.values()].every((count) => count !== undefined) || Date.now() > deadline) return counts
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
