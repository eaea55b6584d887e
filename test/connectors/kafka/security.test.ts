import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { consumerConfig, producerConfig } from '../../../connectors/kafka/client-config.js'
import { KafkaError } from '../../../connectors/kafka/kafka-error.js'
import { securityConfig } from '../../../connectors/kafka/security.js'
import { TopologyError } from '../../../topology/errors.js'
import { loadTopology } from '../../../topology/load.js'

const dir = mkdtempSync(join(tmpdir(), 'kubestream-security-'))
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text)
  return join(dir, name)
}
const ca = file('ca.crt', '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n')
const cert = file('user.crt', '-----BEGIN CERTIFICATE-----\nUSER\n-----END CERTIFICATE-----\n')
const key = file('user.key', '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n')
// Strimzi's KafkaUser secret: the password as a file, here with the newline an editor adds.
const password = file('password', 'S3cr3t pass #1\n')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('spec.kafka.security', () => {
  it('SCRAM over TLS: the password read from its file, the CA by path', () => {
    expect(
      securityConfig({
        tls: { caFile: ca },
        sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', passwordFile: password },
      }),
    ).toEqual({
      'security.protocol': 'SASL_SSL',
      'ssl.ca.location': ca,
      'ssl.endpoint.identification.algorithm': 'https',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'app',
      'sasl.password': 'S3cr3t pass #1',
    })
  })

  it('mutual TLS: the client certificate and key, SSL', () => {
    expect(securityConfig({ tls: { caFile: ca, certFile: cert, keyFile: key, verifyHostname: false } })).toEqual({
      'security.protocol': 'SSL',
      'ssl.ca.location': ca,
      'ssl.certificate.location': cert,
      'ssl.key.location': key,
      'ssl.endpoint.identification.algorithm': 'none',
    })
  })

  it('SASL/PLAIN without TLS, the password from an environment variable', () => {
    const config = securityConfig(
      { sasl: { mechanism: 'PLAIN', username: 'app', passwordEnv: 'KAFKA_PASSWORD' } },
      { KAFKA_PASSWORD: '0123' },
    )
    expect(config).toMatchObject({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.password': '0123' })
  })

  it('every client gets it, and raw librdkafka properties still win', () => {
    const settings = {
      security: { sasl: { mechanism: 'SCRAM-SHA-256' as const, username: 'app', passwordFile: password } },
      config: { 'sasl.username': 'override' },
    }
    expect(consumerConfig(settings, 'g', 'earliest').global).toMatchObject({
      'sasl.mechanisms': 'SCRAM-SHA-256',
      'sasl.username': 'override',
      'sasl.password': 'S3cr3t pass #1',
    })
    expect(producerConfig(settings, 'g')).toMatchObject({ 'sasl.password': 'S3cr3t pass #1' })
  })

  it('a missing secret stops the start with its name, never a value', () => {
    const missing = () =>
      securityConfig({ sasl: { mechanism: 'PLAIN', username: 'app', passwordFile: join(dir, 'nope') } })
    expect(missing).toThrow(KafkaError)
    expect(missing).toThrow(`cannot read the SASL password file ${join(dir, 'nope')}: ENOENT`)
    const unset = () => securityConfig({ sasl: { mechanism: 'PLAIN', username: 'app', passwordEnv: 'UNSET_PW' } }, {})
    expect(unset).toThrow('the SASL password variable UNSET_PW is not set')
    expect(() => securityConfig({ tls: { caFile: join(dir, 'no-ca') } })).toThrow(/TLS CA file .*no-ca: ENOENT/)
  })
})

describe('spec.kafka.security in a topology', () => {
  const topology = (security: string[]) =>
    [
      'apiVersion: kubestream.io/v1alpha1',
      'kind: Topology',
      'metadata: { name: secure }',
      'spec:',
      '  kafka:',
      '    security:',
      ...security.map((line) => `      ${line}`),
      '  sources: [{ name: events, kafka: { topic: in } }]',
      '  sinks: [{ name: out, from: events, kafka: { topic: out } }]',
    ].join('\n')

  it('loads the Strimzi shapes', () => {
    const graph = loadTopology(
      topology([
        'tls: { caFile: /etc/ca/ca.crt }',
        'sasl: { mechanism: SCRAM-SHA-512, username: app, passwordEnv: PW }',
      ]),
    )
    expect(graph.kafka.security?.sasl?.mechanism).toBe('SCRAM-SHA-512')
  })

  it('has no place for a password written in the file', () => {
    const load = () =>
      loadTopology(topology(['sasl: { mechanism: PLAIN, username: app, password: hunter2 }']), 's.yaml')
    expect(load).toThrow(TopologyError)
    expect(load).toThrow(/unknown field "password" in spec\.kafka\.security\.sasl/)
  })

  it('wants a password source and a key with a certificate', () => {
    expect(() => loadTopology(topology(['sasl: { mechanism: PLAIN, username: app }']))).toThrow(
      /the SASL password needs exactly one of passwordFile or passwordEnv/,
    )
    expect(() => loadTopology(topology(['tls: { certFile: /etc/u/user.crt }']))).toThrow(/keyFile/)
  })
})
