import { describe, expect, it } from 'vitest'
import { TopologyBuilder } from '../../topology/builder.js'
import { describeText } from '../../topology/describe.js'
import { TopologyError } from '../../topology/errors.js'
import { loadTopologyFile } from '../../topology/load.js'

describe('TopologyBuilder', () => {
  it('builds the same graph as examples/events-fanout.yaml', () => {
    const fromYaml = loadTopologyFile('examples/events-fanout.yaml', {})
    const topology = new TopologyBuilder('events-fanout', {
      kafka: { bootstrapServers: 'localhost:9092', producer: { 'linger.ms': 100, 'compression.type': 'lz4' } },
      processing: { guarantee: 'at_least_once', commitIntervalMs: 1000 },
    })
    topology
      .source('cluster-events', { topic: 'cluster-events', format: 'json', startOffset: 'earliest' })
      .filter(
        'drop-resyncs',
        '!(value.verb == "UPDATED" && has(value.old_event) && has(value.old_event.metadata)\n  && ' +
          'value.event.metadata.resourceVersion == value.old_event.metadata.resourceVersion)',
      )
      .keyBy('key-by-uid', 'value.event.metadata.uid')
      .headers('tag', {
        verb: 'value.verb',
        type: 'has(value.event.type) ? value.event.type : null',
        reason: 'has(value.event.reason) ? value.event.reason : null',
      })
      .to('per-namespace', {
        topic: 'events.${value.event.metadata.namespace}',
        partitions: 3,
        replicationFactor: 1,
        config: { 'retention.ms': 604800000 },
      })
    const built = topology.build()
    expect(describeText(built)).toBe(describeText(fromYaml))
    expect(built.kafka).toEqual(fromYaml.kafka)
    expect(built.processing).toEqual(fromYaml.processing)
  })

  it('builds the same graph as examples/warning-counts.yaml', () => {
    const env = { KAFKA_BROKERS: 'localhost:9092' }
    const fromYaml = loadTopologyFile('examples/warning-counts.yaml', env)
    const topology = new TopologyBuilder('warning-counts', {
      kafka: { bootstrapServers: 'localhost:9092', consumer: { 'session.timeout.ms': 45000 } },
      processing: { guarantee: 'exactly_once', commitIntervalMs: 1000, standbyReplicas: 0 },
    })
    topology
      .source('cluster-events', { topic: 'cluster-events', format: 'json', timestamp: 'value.event.lastTimestamp' })
      .filter(
        'drop-resyncs',
        '!(value.verb == "UPDATED" && has(value.old_event) && has(value.old_event.metadata)\n  && ' +
          'value.event.metadata.resourceVersion == value.old_event.metadata.resourceVersion)',
      )
      .filter('warnings', 'value.event.type == "Warning"')
      .keyBy('by-reason', 'value.event.metadata.namespace + "/" + value.event.reason')
      .count('per-minute', { store: 'by-minute', window: { tumbling: '1m', grace: '30s' }, emit: 'onUpdate' })
      .to('warning-counts', { topic: 'warning-counts', partitions: 6, replicationFactor: 1 })
    const built = topology.build()
    expect(describeText(built)).toBe(describeText(fromYaml))
    expect(built.processing).toEqual(fromYaml.processing)
  })

  it('builds tables and joins', () => {
    const topology = new TopologyBuilder('flows')
    const pods = topology.table('pods', { topic: 'pods-by-ip' }, { global: true })
    topology
      .source('connections', { topic: 'connections' })
      .join('with-pod', { table: pods, type: 'left', key: 'value.srcIp', value: '{"flow": value, "pod": table}' })
      .to('out', { topic: 'enriched' })
    const text = describeText(topology.build())
    expect(text).toContain('Processor: with-pod (left join global table pods on value.srcIp)')
    expect(text).toContain('Global table: pods (topic: pods-by-ip, format: json, store: pods)')
  })

  it('reports the same errors as the YAML loader', () => {
    const topology = new TopologyBuilder('bad')
    topology.source('in', { topic: 'in' }).filter('f', 'value.x ==').to('out', { topic: 'out' })
    expect(() => topology.build()).toThrow(TopologyError)
    expect(() => topology.build()).toThrow(/invalid CEL in spec\.steps\[0\]\.filter/)
  })
})
