import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { WindowedStats } from '../../core/windowed-stats.js'
import { registerKafkaStreamsMetrics } from '../../runtime/kafka-streams-metrics.js'
import { ThreadMeters } from '../../runtime/thread-meters.js'
import type { MetricsRecordingLevel } from '../../topology/spec.js'

function namesAt(level: MetricsRecordingLevel): string[] {
  const registry = new Registry()
  registerKafkaStreamsMetrics(registry, {
    threadId: 'pod-0-StreamThread-1',
    thread: new ThreadMeters(),
    tasks: () => [],
    e2eLatency: new Map([['out', new WindowedStats()]]),
    level,
  })
  return registry.getMetricsAsArray().map((metric) => metric.name)
}

describe("Kafka Streams' recording levels", () => {
  it('exposes the thread, dropped records and end-to-end latency at INFO; tasks and stores from DEBUG on', () => {
    const info = namesAt('INFO')
    expect(info).toContain('kafka_streams_stream_thread_process_rate')
    expect(info).toContain('kafka_streams_stream_task_dropped_records_total')
    expect(info).toContain('kafka_streams_processor_node_record_e2e_latency_avg')
    const debugOnly = namesAt('DEBUG').filter((name) => !info.includes(name))
    expect(debugOnly.sort()).toEqual([
      'kafka_streams_stream_state_get_rate',
      'kafka_streams_stream_state_get_total',
      'kafka_streams_stream_state_put_rate',
      'kafka_streams_stream_state_put_total',
      'kafka_streams_stream_state_restore_rate',
      'kafka_streams_stream_state_restore_total',
      'kafka_streams_stream_task_process_total',
    ])
    expect(namesAt('TRACE')).toEqual(namesAt('DEBUG'))
  })
})
