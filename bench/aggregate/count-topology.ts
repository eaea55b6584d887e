import type { TopicAdmin } from '../../connectors/kafka/topic-admin.js'

/**
 * The restore phases' topology: counts per key of `sourceTopic` in the store `counts`, whose
 * changelog is `<applicationId>-counts-changelog` (the harness fills it). Client properties to
 * try, as YAML flow maps, go in `consumer` and `producer`.
 */
export function countTopology(options: {
  applicationId: string
  brokers: string
  sourceTopic: string
  consumer?: string
  producer?: string
}): string {
  const { applicationId, brokers, sourceTopic } = options
  return `
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: ${applicationId} }
spec:
  kafka:
    bootstrapServers: "${brokers}"
    consumer: ${options.consumer ?? '{}'}
    producer: ${options.producer ?? '{}'}
  sources: [{ name: in, kafka: { topic: ${sourceTopic} } }]
  steps: [{ name: per-key, from: in, count: { store: counts } }]
  sinks: [{ name: out, from: per-key, kafka: { topic: ${applicationId}-out, partitions: 6 } }]
`
}

/** Creates the count topology's input and its store's compacted changelog; returns their names. */
export async function createCountTopics(
  admin: TopicAdmin,
  applicationId: string,
  partitions: number,
): Promise<{ input: string; changelog: string }> {
  const topics = { input: `${applicationId}-in`, changelog: `${applicationId}-counts-changelog` }
  await admin.ensureTopic(topics.input, { partitions, replicationFactor: 1 })
  await admin.ensureTopic(topics.changelog, {
    partitions,
    replicationFactor: 1,
    config: { 'cleanup.policy': 'compact' },
  })
  return topics
}
