import Kafka from 'node-rdkafka'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ensureKafkaJars } from './kafka-jars.js'
import { isLog4j2, kafkaVersion } from './kafka-version.js'
import { freePort, portOpen, sleep, stopProcess } from './local-process.js'

const run = promisify(execFile)

/** A single-node KRaft broker (broker and controller in one JVM) on loopback. */
export interface LocalBroker {
  /** bootstrap.servers for clients, e.g. `127.0.0.1:41234` */
  readonly brokers: string
  /** The Apache Kafka release it runs. */
  readonly version: string
  readonly logDir: string
  /** host:port of each extra listener, by name. */
  readonly listeners: Readonly<Record<string, string>>
  /**
   * Stops the broker (as SIGTERM does) and starts it again on the same ports and log dirs,
   * after `downMs` (longer than a session timeout: the groups' members lose their sessions).
   */
  restart(downMs?: number): Promise<void>
  stop(): Promise<void>
}

export interface StartBrokerOptions {
  /** Apache Kafka release; defaults to $KAFKA_VERSION, else 4.1.1. */
  version?: string
  /** How long to wait for the broker to accept requests. */
  startTimeoutMs?: number
  /** Heap for the JVM; the suite and the demo need little. */
  heap?: string
  /** Extra server.properties lines, e.g. `{ 'num.partitions': '6' }`. */
  properties?: Record<string, string>
  /**
   * Listeners beside PLAINTEXT (which stays the inter-broker one), by name and security
   * protocol, e.g. `{ SECURE: 'SASL_SSL', MTLS: 'SSL' }`; their settings go in `properties`
   * (`listener.name.secure.…`).
   */
  listeners?: Record<string, 'SSL' | 'SASL_SSL' | 'SASL_PLAINTEXT'>
  /** SCRAM credentials, written when the log dir is formatted (KRaft has no ZooKeeper to hold them). */
  scramUsers?: Array<{ mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; name: string; password: string }>
}

/**
 * Resolves the jars (cached), formats a fresh KRaft log dir in a temp dir, starts the broker on
 * free loopback ports and resolves once it answers Kafka requests.
 */
export async function startLocalBroker(options: StartBrokerOptions = {}): Promise<LocalBroker> {
  const version = options.version ?? kafkaVersion()
  const libs = await ensureKafkaJars(version)
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-kafka-'))
  const [brokerPort, controllerPort] = [await freePort(), await freePort()]
  const listeners: Record<string, string> = {}
  for (const name of Object.keys(options.listeners ?? {})) listeners[name] = `127.0.0.1:${await freePort()}`
  const config = join(dir, 'server.properties')
  writeFileSync(
    config,
    serverProperties(
      dir,
      [
        { name: 'PLAINTEXT', protocol: 'PLAINTEXT', address: `127.0.0.1:${brokerPort}` },
        ...Object.entries(options.listeners ?? {}).map(([name, protocol]) => ({
          name,
          protocol,
          address: listeners[name],
        })),
      ],
      controllerPort,
      options.properties,
    ),
  )
  const classpath = join(libs, '*')
  const jvm = [...jvmArgs(options.heap ?? '768m'), ...loggingArgs(dir, version)]

  await run('java', [
    ...jvm,
    '-cp',
    classpath,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId(),
    '-c',
    config,
    '--ignore-formatted',
    ...(options.scramUsers ?? []).flatMap(({ mechanism, name, password }) => [
      '--add-scram',
      `${mechanism}=[name=${name},password=${password}]`,
    ]),
  ])
  const brokers = `127.0.0.1:${brokerPort}`
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn('java', [...jvm, '-cp', classpath, 'kafka.Kafka', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // Its own process group: a terminal's Ctrl-C must reach us first, so clients can flush
      // and commit before we stop the broker.
      detached: true,
    })
    const stderr: string[] = []
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()))
    try {
      await waitUntilServing(child, brokerPort, options.startTimeoutMs ?? 60_000)
    } catch (error) {
      child.kill('SIGKILL')
      throw new Error(`${(error as Error).message}\n${stderr.join('').slice(-4000)}\nlogs: ${dir}`, { cause: error })
    }
    return child
  }
  let child: ChildProcess | undefined
  const stopOnExit = () => child?.kill('SIGKILL')
  process.once('exit', stopOnExit)
  child = await launch().catch((error: unknown) => {
    process.removeListener('exit', stopOnExit)
    throw error
  })
  return {
    brokers,
    version,
    logDir: dir,
    listeners,
    async restart(downMs = 0) {
      await stopProcess(child!, 20_000)
      await sleep(downMs)
      child = await launch()
    },
    async stop() {
      process.removeListener('exit', stopOnExit)
      await stopProcess(child!, 20_000)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A listener clients connect to; PLAINTEXT, the first, is also the inter-broker one. */
interface Listener {
  name: string
  protocol: string
  address: string
}

function serverProperties(
  dir: string,
  listeners: Listener[],
  controllerPort: number,
  extra: Record<string, string> = {},
): string {
  const controller = { name: 'CONTROLLER', protocol: 'PLAINTEXT', address: `127.0.0.1:${controllerPort}` }
  const urls = (list: Listener[]) => list.map(({ name, address }) => `${name}://${address}`).join(',')
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: urls([...listeners, controller]),
    'advertised.listeners': urls(listeners),
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': [...listeners, controller].map((l) => `${l.name}:${l.protocol}`).join(','),
    'log.dirs': join(dir, 'data'),
    // kubestream creates every topic it writes; a broker that invents topics hides that bug.
    'auto.create.topics.enable': 'false',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '6',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '6',
    'group.initial.rebalance.delay.ms': '0',
    'log.flush.interval.messages': '9223372036854775807',
    ...extra,
  }
  return (
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n'
  )
}

/** The broker logs to server.log in its dir, at INFO for Kafka's own classes. */
function loggingArgs(dir: string, version: string): string[] {
  if (isLog4j2(version)) {
    writeFileSync(join(dir, 'log4j2.properties'), log4j2Properties(dir))
    return [`-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`, `-Dkafka.logs.dir=${dir}`]
  }
  writeFileSync(join(dir, 'log4j.properties'), log4jProperties(dir))
  return [`-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, `-Dkafka.logs.dir=${dir}`]
}

function log4j2Properties(dir: string): string {
  return [
    'appender.file.type=File',
    'appender.file.name=file',
    `appender.file.fileName=${join(dir, 'server.log')}`,
    'appender.file.layout.type=PatternLayout',
    'appender.file.layout.pattern=[%d] %p %m (%c)%n',
    'rootLogger.level=INFO',
    'rootLogger.appenderRef.file.ref=file',
    '',
  ].join('\n')
}

function log4jProperties(dir: string): string {
  return [
    'log4j.rootLogger=WARN, file',
    'log4j.appender.file=org.apache.log4j.FileAppender',
    `log4j.appender.file.File=${join(dir, 'server.log')}`,
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka=INFO',
    'log4j.logger.org.apache.kafka=INFO',
    '',
  ].join('\n')
}

function jvmArgs(heap: string): string[] {
  return [`-Xmx${heap}`, `-Xms${heap}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true']
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding, as `kafka-storage random-uuid`
 * prints. Like Kafka's own Uuid.randomUuid, never one starting with `-`: the storage tool's
 * argument parser would take it for an option (1 start in 64 failed that way).
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/**
 * The listener opens before the broker has caught up with its own metadata; an ApiVersions
 * round-trip is not enough either, so wait for the port and then for a metadata answer that
 * names this broker.
 */
async function waitUntilServing(child: ChildProcess, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  child.once('exit', () => {
    exited = true
  })
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Kafka broker exited during start (code ${child.exitCode})`)
    if ((await portOpen(port)) && (await answersMetadata(port))) return
    await sleep(250)
  }
  throw new Error(`Kafka broker did not start within ${timeoutMs} ms`)
}

function answersMetadata(port: number): Promise<boolean> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': `127.0.0.1:${port}`, log_level: 0 })
  return new Promise((resolve) => {
    producer.connect({ timeout: 2_000 }, (error, metadata) => {
      const ready = !error && metadata.brokers.length > 0
      producer.disconnect(() => resolve(ready))
    })
  })
}

/** The demos' broker: $KAFKA_BROKERS if set, else a local one they start (and must stop), announced on the console. */
export async function demoBroker(): Promise<{ brokers: string; broker?: LocalBroker }> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS }
  console.log('starting a local Kafka broker (first run resolves its jars with Maven)…')
  const broker = await startLocalBroker()
  process.env.KAFKA_BROKERS = broker.brokers
  return { brokers: broker.brokers, broker }
}
