import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminConfig, producerConfig } from '../../connectors/kafka/client-config.js'
import type { KafkaError } from '../../connectors/kafka/kafka-error.js'
import { RdkafkaRecordCollector } from '../../connectors/kafka/rdkafka-record-collector.js'
import type { KafkaSecurity } from '../../connectors/kafka/security.js'
import { TopicAdmin } from '../../connectors/kafka/topic-admin.js'
import { type LocalBroker, startLocalBroker } from '../../deploy/local/kafka-broker.js'
import { KubeStream } from '../../runtime/kube-stream.js'
import { createTopic, readTopics } from '../../simulators/kafka-topics.js'
import { describeText } from '../../topology/describe.js'
import { loadTopologyFile } from '../../topology/load.js'
import { makeTestPki, type TestPki } from '../support/certificates.js'
import { waitFor } from '../support/engine-process.js'
import { AclAdmin, applicationGrants, type Grant } from '../support/kafka-acls.js'
import {
  allCommitted,
  countDifferences,
  expectedWarningCounts,
  lastCounts,
  warningCountsEnv,
  writeEnvelopes,
} from '../support/warning-counts.js'

/** Secrets the tests look for wherever kubestream writes: none may appear. */
const SCRAM_512_PASSWORD = 'scram-512-Pa55word'
const SCRAM_256_PASSWORD = 'scram-256-Pa55word'
const PLAIN_PASSWORD = 'plain-Pa55word'

let dir: string
let pki: TestPki
let broker: LocalBroker
let acls: AclAdmin
let tlsUser: ReturnType<TestPki['client']>

/** A broker as Strimzi runs one: SASL_SSL (SCRAM and PLAIN) and mutual-TLS listeners, ACLs enforced. */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubestream-security-'))
  pki = makeTestPki(dir)
  tlsUser = pki.client('app-tls')
  broker = await startLocalBroker({
    listeners: { SECURE: 'SASL_SSL', MTLS: 'SSL' },
    scramUsers: [
      { mechanism: 'SCRAM-SHA-512', name: 'app-512', password: SCRAM_512_PASSWORD },
      { mechanism: 'SCRAM-SHA-256', name: 'app-256', password: SCRAM_256_PASSWORD },
    ],
    properties: {
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN',
      'listener.name.secure.scram-sha-512.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.scram-sha-256.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.plain.sasl.jaas.config':
        'org.apache.kafka.common.security.plain.PlainLoginModule required ' + `user_app-plain="${PLAIN_PASSWORD}";`,
      'listener.name.mtls.ssl.client.auth': 'required',
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': pki.brokerKeystore,
      'ssl.keystore.password': pki.brokerKeystorePassword,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': pki.caFile,
      // The user of a client certificate is its CN, as with Strimzi's tls KafkaUsers.
      'ssl.principal.mapping.rules': 'RULE:^.*CN=([a-zA-Z0-9.-]+).*$/$1/,DEFAULT',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      // The controller and the tests' own PLAINTEXT connections.
      'super.users': 'User:ANONYMOUS',
    },
  })
  acls = new AclAdmin(broker.brokers)
}, 180_000)

afterAll(async () => {
  await acls?.close()
  await broker?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** A secret as Kubernetes mounts one: a file. */
function secretFile(name: string, value: string): string {
  const file = join(dir, name)
  writeFileSync(file, `${value}\n`)
  return file
}

/** A logger whose lines the test keeps, to look for secrets in them. */
function capturedLogger() {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

interface Run {
  stream: KubeStream
  lines: string[]
  env: ReturnType<typeof warningCountsEnv>
  describe: string
}

/** warning-counts on the secured listener as `principal`, with exactly `grants` beyond the input's topics. */
async function startApp(
  listener: string,
  security: KafkaSecurity,
  principal: string,
  grants: (env: ReturnType<typeof warningCountsEnv>) => Grant[],
  overrides: Record<string, string> = {},
): Promise<Run> {
  const base = warningCountsEnv(broker.listeners[listener], `sec-${listener.toLowerCase()}`, overrides)
  // Inputs and outputs outside the application's prefix, whose ACL (ALL on `<id>-`) covers only its own topics.
  const env = { ...base, SOURCE_TOPIC: `events.${base.APPLICATION_ID}`, OUTPUT_TOPIC: `counts.${base.APPLICATION_ID}` }
  await createTopic(broker.brokers, env.SOURCE_TOPIC, 3)
  await acls.allow(principal, grants(env))
  const graph = loadTopologyFile('examples/warning-counts.yaml', env)
  Object.assign(graph.kafka, { security })
  const { logger, lines } = capturedLogger()
  const stream = new KubeStream(graph, { stateDir: mkdtempSync(join(dir, 'state-')), logger })
  return { stream, lines, env, describe: describeText(graph) }
}

const allGrants = (env: ReturnType<typeof warningCountsEnv>) =>
  applicationGrants({ id: env.APPLICATION_ID, inputs: [env.SOURCE_TOPIC], outputs: [env.OUTPUT_TOPIC] })

/** Runs to the end of the input and checks every count. */
async function expectExactCounts(run: Run): Promise<void> {
  const written = await writeEnvelopes(broker.brokers, run.env.SOURCE_TOPIC, 3_000, { seed: 11 })
  await run.stream.start()
  await waitFor('everything committed', () => allCommitted(broker.brokers, run.env), 90_000, 500)
  const actual = lastCounts(await readTopics(broker.brokers, [run.env.OUTPUT_TOPIC], { readCommitted: true }))
  expect(countDifferences(expectedWarningCounts(written), actual)).toEqual([])
  await run.stream.stop()
}

function expectNoSecrets(texts: string[], secrets: string[]): void {
  const all = texts.join('\n')
  for (const secret of secrets) expect(all.includes(secret), 'a secret leaked').toBe(false)
}

describe('warning-counts on a secured broker, exactly-once, with only the ACLs it needs', () => {
  it('over SASL_SSL with SCRAM-SHA-512 (password from a file)', async () => {
    const security: KafkaSecurity = {
      tls: { caFile: pki.caFile },
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        username: 'app-512',
        passwordFile: secretFile('scram512', SCRAM_512_PASSWORD),
      },
    }
    const run = await startApp('SECURE', security, 'User:app-512', allGrants)
    await expectExactCounts(run)
    const metrics = await run.stream.metrics.metrics()
    expectNoSecrets([...run.lines, metrics, run.describe], [SCRAM_512_PASSWORD])
  }, 180_000)

  it('over mutual TLS (a client certificate and key, as a tls KafkaUser)', async () => {
    const security: KafkaSecurity = {
      tls: { caFile: pki.caFile, certFile: tlsUser.certFile, keyFile: tlsUser.keyFile },
    }
    const run = await startApp('MTLS', security, 'User:app-tls', allGrants)
    await expectExactCounts(run)
    const keyBody = tlsUser.keyPem.split('\n')[1]
    expectNoSecrets([...run.lines, await run.stream.metrics.metrics(), run.describe], [keyBody])
  }, 180_000)
})

describe('the other SASL mechanisms', () => {
  it.each([
    ['PLAIN', 'app-plain', PLAIN_PASSWORD],
    ['SCRAM-SHA-256', 'app-256', SCRAM_256_PASSWORD],
  ] as const)(
    '%s (password from an environment variable)',
    async (mechanism, user, password) => {
      process.env.KUBESTREAM_TEST_KAFKA_PASSWORD = password
      try {
        const security: KafkaSecurity = {
          tls: { caFile: pki.caFile },
          sasl: { mechanism, username: user, passwordEnv: 'KUBESTREAM_TEST_KAFKA_PASSWORD' },
        }
        const run = await startApp('SECURE', security, `User:${user}`, allGrants)
        await expectExactCounts(run)
        expectNoSecrets([...run.lines, await run.stream.metrics.metrics()], [password])
      } finally {
        delete process.env.KUBESTREAM_TEST_KAFKA_PASSWORD
      }
    },
    180_000,
  )
})

describe('refused credentials and missing ACLs stop the replica with a named error', () => {
  const scram = (password: string): KafkaSecurity => ({
    tls: { caFile: pki.caFile },
    sasl: { mechanism: 'SCRAM-SHA-512', username: 'app-512', passwordFile: secretFile('attempt', password) },
  })

  it('a wrong password: AUTHENTICATION within seconds, naming the user, never the password', async () => {
    const wrong = 'not-the-Pa55word'
    const run = await startApp('SECURE', scram(wrong), 'User:app-512', allGrants)
    const started = Date.now()
    const error = await run.stream.start().then(
      () => undefined,
      (e: unknown) => e as KafkaError,
    )
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(error).toMatchObject({ code: 'AUTHENTICATION' })
    expect(error!.message).toMatch(
      /^authentication failed: the brokers refused SCRAM-SHA-512 user "app-512" over SASL_SSL/,
    )
    expectNoSecrets([error!.message, String(error!.stack), ...run.lines], [wrong, SCRAM_512_PASSWORD])
  }, 60_000)

  it('no ACL on the transactional id: AUTHORIZATION naming it and WRITE', async () => {
    const run = await startApp('SECURE', scram(SCRAM_512_PASSWORD), 'User:app-512', (env) =>
      allGrants(env).filter((grant) => grant.resource !== 'TRANSACTIONAL_ID'),
    )
    const error = await run.stream.start().then(
      () => undefined,
      (e: unknown) => e as KafkaError,
    )
    expect(error).toMatchObject({ code: 'AUTHORIZATION' })
    expect(error!.message).toMatch(
      new RegExp(`SCRAM-SHA-512 user "app-512" over SASL_SSL may not WRITE transactional id ${run.env.APPLICATION_ID}`),
    )
  }, 60_000)

  /** Starts a run and resolves with the error that stopped it, and how long after the start that was. */
  async function stoppedBy(run: Run): Promise<{ error: KafkaError; afterMs: number }> {
    const started = Date.now()
    await run.stream.start()
    const error = await run.stream.done.then(
      () => undefined,
      (e: unknown) => e as KafkaError,
    )
    await run.stream.stop()
    return { error: error!, afterMs: Date.now() - started }
  }

  it('no READ on the input: AUTHORIZATION naming READ and the topic, within seconds', async () => {
    const run = await startApp('SECURE', scram(SCRAM_512_PASSWORD), 'User:app-512', (env) =>
      allGrants(env).filter((grant) => !(grant.name === env.SOURCE_TOPIC && grant.operation === 'READ')),
    )
    await writeEnvelopes(broker.brokers, run.env.SOURCE_TOPIC, 100, { seed: 12 })
    const { error, afterMs } = await stoppedBy(run)
    expect(error).toMatchObject({ code: 'AUTHORIZATION' })
    // A refused fetch names no partition: the consumer names the topics it reads.
    expect(error.message).toMatch(/SCRAM-SHA-512 user "app-512" over SASL_SSL may not READ one of topics /)
    expect(error.message).toContain(run.env.SOURCE_TOPIC)
    expect(afterMs).toBeLessThan(15_000)
  }, 60_000)

  it('no ACL at all on the input: AUTHORIZATION naming DESCRIBE and the topic, not "does not exist"', async () => {
    const run = await startApp('SECURE', scram(SCRAM_512_PASSWORD), 'User:app-512', (env) =>
      allGrants(env).filter((grant) => grant.name !== env.SOURCE_TOPIC),
    )
    const error = await run.stream.start().then(
      () => undefined,
      (e: unknown) => e as KafkaError,
    )
    expect(error).toMatchObject({ code: 'AUTHORIZATION' })
    expect(error!.message).toContain(
      `may not DESCRIBE topic ${run.env.SOURCE_TOPIC} (add an ACL allowing DESCRIBE on it)`,
    )
  }, 60_000)

  for (const [guarantee, from] of [
    ['exactly_once', 'not "Erroneous state"'],
    ['at_least_once', 'from the delivery report'],
  ] as const) {
    it(`no WRITE on the output under ${guarantee}: AUTHORIZATION naming WRITE and the topic, ${from}`, async () => {
      const run = await startApp(
        'SECURE',
        scram(SCRAM_512_PASSWORD),
        'User:app-512',
        (env) => allGrants(env).filter((grant) => !(grant.name === env.OUTPUT_TOPIC && grant.operation === 'WRITE')),
        { GUARANTEE: guarantee },
      )
      await writeEnvelopes(broker.brokers, run.env.SOURCE_TOPIC, 500, { seed: guarantee === 'exactly_once' ? 13 : 16 })
      const { error, afterMs } = await stoppedBy(run)
      expect(error).toMatchObject({ code: 'AUTHORIZATION' })
      expect(error.message).toContain(`may not WRITE topic ${run.env.OUTPUT_TOPIC} (add an ACL allowing WRITE on it)`)
      expect(afterMs).toBeLessThan(15_000)
    }, 60_000)
  }

  it('WRITE on the output revoked while running: AUTHORIZATION naming it, within seconds', async () => {
    const run = await startApp('SECURE', scram(SCRAM_512_PASSWORD), 'User:app-512', allGrants)
    await writeEnvelopes(broker.brokers, run.env.SOURCE_TOPIC, 500, { seed: 14 })
    await run.stream.start()
    await waitFor(
      'the first counts committed',
      async () => (await readTopics(broker.brokers, [run.env.OUTPUT_TOPIC], { readCommitted: true })).length > 0,
      60_000,
      250,
    )
    await acls.revoke('User:app-512', [{ resource: 'TOPIC', name: run.env.OUTPUT_TOPIC, operation: 'WRITE' }])
    const revoked = Date.now()
    await writeEnvelopes(broker.brokers, run.env.SOURCE_TOPIC, 500, { seed: 15 })
    const error = await run.stream.done.then(
      () => undefined,
      (e: unknown) => e as KafkaError,
    )
    await run.stream.stop()
    expect(error).toMatchObject({ code: 'AUTHORIZATION' })
    expect(error!.message).toContain(`may not WRITE topic ${run.env.OUTPUT_TOPIC}`)
    expect(Date.now() - revoked).toBeLessThan(15_000)
  }, 90_000)

  it('a record sent after librdkafka was refused a WRITE, before the refusal is reported: AUTHORIZATION', async () => {
    // librdkafka marks a topic whose write was refused and refuses its next records at once, when
    // they are produced; under load that comes before the first record's delivery report.
    const topic = `counts.refused-${Date.now().toString(36)}`
    await createTopic(broker.brokers, topic, 1)
    // What an application gets on an output, but WRITE; WRITE on topics of its own lets it write idempotently.
    await acls.allow('User:app-512', [
      { resource: 'TOPIC', name: topic, operation: 'DESCRIBE' },
      { resource: 'TOPIC', name: topic, operation: 'CREATE' },
      { resource: 'TOPIC', name: 'refused-writer-', prefixed: true, operation: 'WRITE' },
    ])
    const settings = { bootstrapServers: broker.listeners.SECURE, security: scram(SCRAM_512_PASSWORD) }
    const config = producerConfig(settings, 'refused-writer')
    const admin = new TopicAdmin(adminConfig(settings, 'refused-writer'))
    const collector = await RdkafkaRecordCollector.connect(config, admin)
    try {
      await collector.ensureTopic(topic, {})
      const record = {
        topic,
        key: Buffer.from('k'),
        value: Buffer.from('1'),
        headers: undefined,
        timestamp: Date.now(),
      }
      // This thread keeps sending, every 5 ms without yielding, so no delivery report can reach it: the
      // refusal can only come from librdkafka refusing a record (until its next metadata refresh).
      let error: unknown
      for (let until = Date.now() + 10_000, next = 0; error === undefined && Date.now() < until;) {
        if (Date.now() < next) continue
        next = Date.now() + 5
        try {
          collector.send(record)
        } catch (thrown) {
          error = thrown
        }
      }
      expect(error).toMatchObject({ code: 'AUTHORIZATION' })
      expect((error as Error).message).toContain(`may not WRITE topic ${topic} (add an ACL allowing WRITE on it)`)
    } finally {
      await collector.close()
      admin.close()
    }
  }, 60_000)

  it('no ACL on the group: AUTHORIZATION naming it and READ, as soon as it joins', async () => {
    const run = await startApp('SECURE', scram(SCRAM_512_PASSWORD), 'User:app-512', (env) =>
      allGrants(env).filter((grant) => grant.resource !== 'GROUP'),
    )
    await run.stream.start()
    const error = await run.stream.done.then(
      () => undefined,
      (e: unknown) => e as KafkaError,
    )
    expect(error).toMatchObject({ code: 'AUTHORIZATION' })
    expect(error!.message).toMatch(new RegExp(`may not READ group ${run.env.APPLICATION_ID} `))
    await run.stream.stop()
  }, 60_000)
})
