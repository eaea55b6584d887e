import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { WindowedStats } from '../../core/windowed-stats.js'
import { registerKafkaStreamsMetrics } from '../../runtime/kafka-streams-metrics.js'
import { createMetrics } from '../../runtime/metrics.js'
import { ThreadMeters } from '../../runtime/thread-meters.js'

interface Dashboard {
  templating: { list: Array<{ query?: unknown }> }
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>
}

/** The series names a registry exposes, as Prometheus sees them (a counter's name ends in _total). */
function registeredNames(): Set<string> {
  const none = () => new Map()
  const registry = createMetrics('app', {
    consumedByTopic: new Map(),
    producedByTopic: new Map(),
    deadLetters: new Map(),
    activeTasks: () => 0,
    restoringTasks: () => 0,
    restoredRecords: () => 0,
    standbyRecords: () => 0,
    globalTableRecords: () => 0,
    lateRecords: () => 0,
    processMs: new Map(),
    stepRecords: new Map(),
    sourceErrors: none,
    sourceDocuments: none,
    sourceLeaders: none,
  })
  registerKafkaStreamsMetrics(registry, {
    threadId: 't',
    thread: new ThreadMeters(),
    tasks: () => [],
    e2eLatency: new Map([['out', new WindowedStats()]]),
    level: 'DEBUG',
  })
  return new Set(registry.getMetricsAsArray().map((metric) => metric.name))
}

it('queries only metrics kubestream exposes', () => {
  const dashboard = JSON.parse(readFileSync('deploy/grafana/kubestream.json', 'utf8')) as Dashboard
  const exprs = [
    ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
    ...dashboard.templating.list.map((variable) => variable.query).filter((q): q is string => typeof q === 'string'),
  ]
  const used = new Set(exprs.flatMap((expr) => expr.match(/\b(kubestream|kafka_streams)_[a-z0-9_]+/g) ?? []))
  expect(used.size).toBeGreaterThan(10)
  const known = registeredNames()
  expect([...used].filter((name) => !known.has(name))).toEqual([])
  for (const panel of dashboard.panels) expect(panel.targets.length, panel.title).toBeGreaterThan(0)
})
