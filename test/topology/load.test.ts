import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TopologyError } from '../../topology/errors.js'
import { loadTopology } from '../../topology/load.js'

const header = ['apiVersion: kubestream.io/v1alpha1', 'kind: Topology', 'metadata:', '  name: fanout', 'spec:']
const source = ['  sources:', '    - name: events', '      kafka:', '        topic: cluster-events']
const sink = (from: string) => [
  '  sinks:',
  '    - name: out',
  `      from: ${from}`,
  '      kafka:',
  '        topic: out',
]

/** header is lines 1-5, sources lines 6-9, so the first step starts on line 11. */
const withSteps = (...steps: string[]) => [...header, ...source, '  steps:', ...steps, ...sink('s1')].join('\n')

const cases: Array<{
  name: string
  yaml: string
  code: string
  message: RegExp
  line: number
  column: number
  env?: Record<string, string>
}> = [
  {
    name: 'YAML syntax: a tab-indented mapping',
    yaml: [...header, '  sources:', '    - name: events', '\tkafka: {}'].join('\n'),
    code: 'YAML_SYNTAX',
    message: /tab/i,
    line: 8,
    column: 1,
  },
  {
    name: 'unknown top-level field, with a suggestion',
    yaml: [
      'apiVersion: kubestream.io/v1alpha1',
      'kind: Topology',
      'metadata:',
      '  name: fanout',
      'spce:',
      '  sources: []',
    ].join('\n'),
    code: 'UNKNOWN_FIELD',
    message: /unknown field "spce" in the document; did you mean "spec"\?/,
    line: 5,
    column: 1,
  },
  {
    name: 'unknown operator in a step, with a suggestion',
    yaml: withSteps('    - name: s1', '      from: events', '      filtr: value.x == 1'),
    code: 'UNKNOWN_FIELD',
    message: /unknown field "filtr" in spec\.steps\[0\]; did you mean "filter"\?/,
    line: 13,
    column: 7,
  },
  {
    name: 'CEL syntax error points inside the expression',
    yaml: withSteps('    - name: s1', '      from: events', '      filter: value.event.type == '),
    code: 'EXPRESSION',
    message: /invalid CEL in spec\.steps\[0\]\.filter/,
    line: 13,
    column: 34,
  },
  {
    name: 'CEL type error',
    yaml: withSteps('    - name: s1', '      from: events', '      map: 1 + "one"'),
    code: 'EXPRESSION',
    message: /no such overload/,
    line: 13,
    column: 12,
  },
  {
    name: 'CEL unknown variable',
    yaml: withSteps('    - name: s1', '      from: events', '      keyBy: vaule.event.metadata.uid'),
    code: 'EXPRESSION',
    message: /Unknown variable: vaule/,
    line: 13,
    column: 14,
  },
  {
    name: 'CEL error in a block scalar maps to its own line',
    yaml: withSteps(
      '    - name: s1',
      '      from: events',
      '      filter: |',
      '        value.verb == "UPDATED" &&',
      '          value.event.count >',
    ),
    code: 'EXPRESSION',
    message: /invalid CEL/,
    line: 15,
    column: 30,
  },
  {
    name: 'dangling from, with a suggestion',
    yaml: withSteps('    - name: s1', '      from: evnets', '      keyBy: value.uid'),
    code: 'DANGLING_FROM',
    message: /step "s1" reads from "evnets", which is not a source or step; did you mean "events"\?/,
    line: 12,
    column: 13,
  },
  {
    name: 'a step with two operators',
    yaml: withSteps('    - name: s1', '      from: events', '      filter: value.ok', '      keyBy: value.uid'),
    code: 'STEP_OPERATOR',
    message: /has 2 operators \(filter, keyBy\)/,
    line: 14,
    column: 14,
  },
  {
    name: 'a step with no operator',
    yaml: withSteps('    - name: s1', '      from: events'),
    code: 'STEP_OPERATOR',
    message: /has no operator/,
    line: 11,
    column: 13,
  },
  {
    name: 'a substituted value the schema wants as a number that is not one',
    yaml: [...header, '  processing:', '    commitIntervalMs: ${INTERVAL}', ...source, ...sink('events')].join('\n'),
    env: { INTERVAL: '1e3 ms' },
    code: 'SCHEMA',
    message: /spec\.processing\.commitIntervalMs must be integer/,
    line: 7,
    column: 23,
  },
  {
    name: 'an environment variable without default',
    yaml: [
      ...header,
      '  sources:',
      '    - name: events',
      '      kafka:',
      '        topic: ${KUBESTREAM_TEST_UNSET_TOPIC}',
      ...sink('events'),
    ].join('\n'),
    code: 'ENV',
    message: /KUBESTREAM_TEST_UNSET_TOPIC is not set/,
    line: 9,
    column: 16,
  },
  {
    name: 'wrong apiVersion',
    yaml: [
      'apiVersion: kubestream.io/v2',
      'kind: Topology',
      'metadata:',
      '  name: fanout',
      'spec:',
      ...source.slice(0),
      ...sink('events'),
    ].join('\n'),
    code: 'SCHEMA',
    message: /apiVersion must be one of "kubestream.io\/v1alpha1"/,
    line: 1,
    column: 13,
  },
  {
    name: 'a name used twice',
    yaml: withSteps(
      '    - name: s1',
      '      from: events',
      '      keyBy: value.uid',
      '    - name: events',
      '      from: s1',
      '      keyBy: value.uid',
    ),
    code: 'DUPLICATE_NAME',
    message: /name "events" is used twice/,
    line: 14,
    column: 13,
  },
  {
    name: 'a bad topic template in a sink',
    yaml: [
      ...header,
      ...source,
      '  sinks:',
      '    - name: out',
      '      from: events',
      '      kafka:',
      '        topic: events.${value.event.metadata.namespace +}',
    ].join('\n'),
    code: 'EXPRESSION',
    message: /invalid CEL in spec\.sinks\[0\]\.kafka\.topic/,
    line: 14,
    column: 57,
  },
  {
    name: 'a wrongly typed field',
    yaml: [
      ...header,
      ...source,
      '  sinks:',
      '    - name: out',
      '      from: events',
      '      kafka:',
      '        topic: out',
      '        partitions: many',
    ].join('\n'),
    code: 'SCHEMA',
    message: /spec\.sinks\[0\]\.kafka\.partitions must be integer/,
    line: 15,
    column: 21,
  },
  {
    name: 'a window that is both tumbling and hopping',
    yaml: withSteps(
      '    - name: s1',
      '      from: events',
      '      count:',
      '        window: { tumbling: 1m, hopping: 5m, advance: 1m }',
    ),
    code: 'WINDOW',
    message: /exactly one of tumbling, hopping or session, not tumbling and hopping/,
    line: 14,
    column: 17,
  },
  {
    name: 'a hopping window that advances further than its size',
    yaml: withSteps(
      '    - name: s1',
      '      from: events',
      '      count:',
      '        window: { hopping: 1m, advance: 5m }',
    ),
    code: 'WINDOW',
    message: /advance must be more than 0 and at most the size/,
    line: 14,
    column: 41,
  },
  {
    name: 'emit onWindowClose without a window',
    yaml: withSteps('    - name: s1', '      from: events', '      count: { emit: onWindowClose }'),
    code: 'WINDOW',
    message: /emits onWindowClose but has no window/,
    line: 13,
    column: 22,
  },
  {
    name: 'a retention shorter than the window and its grace',
    yaml: withSteps(
      '    - name: s1',
      '      from: events',
      '      count:',
      '        window: { tumbling: 1m, grace: 30s, retention: 1m }',
    ),
    code: 'WINDOW',
    message: /retention \(60000 ms\) must be at least the window's size plus grace \(90000 ms\)/,
    line: 14,
    column: 56,
  },
  {
    name: 'a malformed duration',
    yaml: withSteps('    - name: s1', '      from: events', '      count:', '        window: { tumbling: 1 minute }'),
    code: 'SCHEMA',
    message: /tumbling/,
    line: 14,
    column: 29,
  },
  {
    name: 'two steps writing one store',
    yaml: withSteps(
      '    - name: s1',
      '      from: events',
      '      count: { store: counts }',
      '    - name: s2',
      '      from: events',
      '      count: { store: counts }',
    ),
    code: 'STORE',
    message: /"s1" and "s2" both use store "counts"; a store belongs to one step or table/,
    line: 16,
    column: 14,
  },
  {
    name: 'an aggregate in session windows without a merger',
    yaml: withSteps(
      '    - name: s1',
      '      from: events',
      '      aggregate:',
      "        initializer: '0.0'",
      "        adder: 'aggregate + 1.0'",
      '        window: { session: 5m }',
    ),
    code: 'WINDOW',
    message: /needs merger/,
    line: 14,
    column: 9,
  },
  {
    name: 'a reduce without its reducer',
    yaml: withSteps('    - name: s1', '      from: events', '      reduce: {}'),
    code: 'SCHEMA',
    message: /reducer/,
    line: 13,
    column: 15,
  },
  {
    name: 'steps wired in a cycle',
    yaml: withSteps(
      '    - name: s1',
      '      from: s2',
      '      keyBy: value.uid',
      '    - name: s2',
      '      from: s1',
      '      keyBy: value.uid',
    ),
    code: 'CYCLE',
    message: /cycle/,
    line: 12,
    column: 13,
  },
  {
    name: 'a Kubernetes source of a resource it cannot watch',
    yaml: [
      ...header,
      '  sources:',
      '    - name: k',
      '      kubernetes:',
      '        resource: deployments',
      '        topic: t',
    ].join('\n'),
    code: 'SCHEMA',
    message: /resource/,
    line: 9,
    column: 19,
  },
  {
    name: 'a node-scoped Kubernetes source of services',
    yaml: [
      ...header,
      '  sources:',
      '    - name: k',
      '      kubernetes:',
      '        resource: services',
      '        node: n1',
      '        topic: t',
    ].join('\n'),
    code: 'SCHEMA',
    message: /node applies to pods only/,
    line: 10,
    column: 15,
  },
]

describe('loadTopology rejects broken files with file:line:column', () => {
  it.each(cases)('$name', ({ yaml, code, message, line, column, env }) => {
    let thrown: unknown
    try {
      loadTopology(yaml, 'broken.yaml', env ?? {})
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(TopologyError)
    const error = thrown as TopologyError
    expect(error.code).toBe(code)
    expect(error.reason).toMatch(message)
    expect({ line: error.position?.line, column: error.position?.column }).toEqual({ line, column })
    expect(error.message).toBe(`broken.yaml:${line}:${column}: ${error.reason}`)
  })
})

describe('loadTopology accepts', () => {
  it('the example topology, with env defaults and typed substitutions', async () => {
    const { loadTopologyFile } = await import('../../topology/load.js')
    const graph = loadTopologyFile('examples/events-fanout.yaml', { NAMESPACE_TOPIC_PARTITIONS: '6' })
    expect(graph.applicationId).toBe('events-fanout')
    expect(graph.deadLetter.topic).toBe('events-fanout-dlq')
    const sink = graph.nodes.get('per-namespace')
    expect(sink?.kind).toBe('sink')
    expect(sink?.kind === 'sink' && sink.topicSettings.partitions).toBe(6)
    expect(sink?.kind === 'sink' && sink.topic.source).toBe('events.${value.event.metadata.namespace}')
  })

  it('substituted values as text, typed only where the schema wants a number or a boolean', () => {
    const yaml = [
      ...header,
      '  kafka:',
      '    config:',
      '      sasl.username: ${USER_NAME}',
      '      sasl.password: ${PASSWORD}',
      '      ssl.key.password: ${KEY_PASSWORD}',
      '      client.rack: ${RACK}',
      '      ssl.key.pem: ${KEY}',
      '  processing:',
      '    commitIntervalMs: ${INTERVAL}',
      '    standbyReplicas: "${STANDBYS:-1}"',
      ...source,
      ...sink('events'),
    ].join('\n')
    const env = {
      USER_NAME: 'true',
      PASSWORD: '0123',
      KEY_PASSWORD: '1e3',
      RACK: 'pa ss #x',
      KEY: '-----BEGIN PRIVATE KEY-----\nMIIB: {x}\n-----END PRIVATE KEY-----',
      INTERVAL: '250',
    }
    const graph = loadTopology(yaml, 't.yaml', env)
    expect(graph.kafka.config).toEqual({
      'sasl.username': 'true',
      'sasl.password': '0123',
      'ssl.key.password': '1e3',
      'client.rack': 'pa ss #x',
      'ssl.key.pem': env.KEY,
    })
    expect(graph.processing.commitIntervalMs).toBe(250)
    expect(graph.processing.standbyReplicas).toBe(1)
  })

  it('${VAR:-default} next to a CEL template in one file', () => {
    const yaml = [
      ...header,
      '  sources:',
      '    - name: events',
      '      kafka:',
      '        topic: ${SRC:-fallback}',
      ...sink('events').slice(0, 4),
      '        topic: "${PREFIX:-x-}${value.verb}"',
    ].join('\n')
    const graph = loadTopology(yaml, 't.yaml', {})
    expect(graph.sources[0].topic).toBe('fallback')
    const out = graph.nodes.get('out')
    expect(out?.kind === 'sink' && out.topic.source).toBe('x-${value.verb}')
  })
})

describe('a Kafka config file (--kafka-config)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-config-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const write = (name: string, lines: string[]) => {
    const file = join(dir, name)
    writeFileSync(file, lines.join('\n'))
    return file
  }
  const topology = [
    ...header,
    '  kafka:',
    '    bootstrapServers: localhost:9092',
    '    config: { client.rack: a, socket.timeout.ms: "30000" }',
    ...source,
    ...sink('events'),
  ].join('\n')

  it('wins over the topology field by field, client properties key by key, with ${VAR}s substituted', () => {
    const kafkaFile = write('kafka.yaml', [
      'bootstrapServers: ${BOOTSTRAP}',
      'security:',
      '  tls: { caFile: /etc/kafka/cluster-ca/ca.crt }',
      '  sasl: { mechanism: SCRAM-SHA-512, username: app, passwordFile: /etc/kafka/user/password }',
      'config: { client.rack: b }',
    ])
    const graph = loadTopology(topology, 't.yaml', { BOOTSTRAP: 'my-cluster-kafka-bootstrap:9093' }, { kafkaFile })
    expect(graph.kafka.bootstrapServers).toBe('my-cluster-kafka-bootstrap:9093')
    expect(graph.kafka.config).toEqual({ 'client.rack': 'b', 'socket.timeout.ms': '30000' })
    expect(graph.kafka.security).toEqual({
      tls: { caFile: '/etc/kafka/cluster-ca/ca.crt' },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', passwordFile: '/etc/kafka/user/password' },
    })
  })

  it('is rejected with its own file:line:column, worded as spec.kafka', () => {
    const kafkaFile = write('bad.yaml', ['bootstrapServers: b:9093', 'security:', '  sasl: { mechanism: SCRAM }'])
    expect(() => loadTopology(topology, 't.yaml', {}, { kafkaFile })).toThrow(
      `${kafkaFile}:3:22: spec.kafka.security.sasl.mechanism must be one of "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"`,
    )
    const typo = write('typo.yaml', ['bootstrapServers: b:9093', 'securty: {}'])
    expect(() => loadTopology(topology, 't.yaml', {}, { kafkaFile: typo })).toThrow(
      `${typo}:2:1: unknown field "securty" in spec.kafka; did you mean "security"?`,
    )
    expect(() => loadTopology(topology, 't.yaml', {}, { kafkaFile: join(dir, 'missing.yaml') })).toThrow(
      /cannot read Kafka config file .*missing\.yaml/,
    )
  })
})
