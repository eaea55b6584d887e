import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { describe, expect, inject, it } from 'vitest'
import { KafkaError } from '../../connectors/kafka/kafka-error.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { StreamState } from '../../runtime/stream-state.js'
import { ClusterEventGenerator } from '../../simulators/cluster-events.js'
import { EnvelopeWriter } from '../../simulators/envelope-writer.js'
import { committedOffsets, createTopic } from '../../simulators/kafka-topics.js'
import { loadTopology } from '../../topology/load.js'

/**
 * Delivery is confirmed by the flush before each commit, and only failures are reported: a
 * record the broker refuses must stop the task before its offset is committed. With a 10 ms
 * commit interval the refusal lands during the commit's own flush, so this also holds the
 * flush to waiting for node-rdkafka's report dispatcher (without that wait, offset 20 was
 * committed in 4 runs of 4).
 */
describe('a delivery the broker refuses', () => {
  const brokers = inject('kafkaBrokers')
  const run = randomBytes(3).toString('hex')

  it('stops processing with a DELIVERY error and commits nothing past it', async () => {
    const source = `refused-in-${run}`
    await createTopic(brokers, source, 1)
    const writer = await EnvelopeWriter.connect(brokers, source)
    const generator = new ClusterEventGenerator({ seed: 3, malformedRate: 0, resyncRate: 0 })
    for (let i = 0; i < 20; i++) await writer.write(generator.next())
    await writer.flush()
    await writer.close()

    // Envelopes are 1-2 KB; the output topic accepts batches of at most 512 bytes.
    const graph = loadTopology(
      `
apiVersion: kubestream.io/v1alpha1
kind: Topology
metadata: { name: refused-${run} }
spec:
  kafka: { bootstrapServers: "${brokers}", producer: { message.timeout.ms: 20000, linger.ms: 50 } }
  processing: { commitIntervalMs: 10 }
  sources: [{ name: in, kafka: { topic: ${source} } }]
  sinks:
    - { name: out, from: in, kafka: { topic: refused-out-${run}, partitions: 1, config: { max.message.bytes: 512 } } }
`,
      'refused.yaml',
      {},
    )
    const stream = new KubeStream(graph, { logger: pino({ level: 'silent' }) })
    await stream.start()
    const failure = await stream.done.then(
      () => undefined,
      (error: unknown) => error,
    )
    await stream.stop()

    expect(failure).toBeInstanceOf(KafkaError)
    expect((failure as KafkaError).code).toBe('DELIVERY')
    expect((failure as KafkaError).message).toMatch(/^delivery to refused-out-\w+ failed/)
    expect(stream.state).toBe(StreamState.ERROR)
    expect((await committedOffsets(brokers, `refused-${run}`, source)).get(0) ?? -1).toBeLessThanOrEqual(0)
  }, 120_000)
})
