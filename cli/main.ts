import { Command, InvalidArgumentError, Option } from 'commander'
import type { IngestMode } from '../runtime/source-ingest.js'
import { describeMermaid, describeText } from '../topology/describe.js'
import { TopologyError } from '../topology/errors.js'
import { loadTopologyFile } from '../topology/load.js'
import { topologySchema } from '../topology/schema.js'
import { queryStore, type QueryOptions } from './query.js'

/** Shared by every verb that loads a topology: the deployment's brokers and credentials, outside the topology. */
const kafkaConfigOption = () =>
  new Option(
    '--kafka-config <file>',
    "a YAML file shaped like spec.kafka (bootstrapServers, security, config) whose fields win over the topology's",
  ).env('KUBESTREAM_KAFKA_CONFIG')

const program = new Command()
  .name('kubestream')
  .description('Kafka Streams-style stream processing for Kubernetes events and flows, defined in YAML.')
  .showHelpAfterError()

program
  .command('run')
  .description('Run a topology until SIGTERM/SIGINT; then flush, commit and exit 0.')
  .argument('<file>', 'topology YAML file')
  .addOption(kafkaConfigOption())
  .addOption(
    new Option('--http-port <port>', 'serve /metrics, /healthz and /readyz on this port')
      .env('KUBESTREAM_HTTP_PORT')
      .argParser(port),
  )
  .addOption(
    new Option('--http-host <host>', 'address the HTTP server binds (127.0.0.1: this host only)')
      .default('0.0.0.0')
      .env('KUBESTREAM_HTTP_HOST'),
  )
  .addOption(
    new Option(
      '--http-token-file <file>',
      'require "Authorization: Bearer <token>" (the file\'s content) on every HTTP path but /healthz and /readyz',
    ).env('KUBESTREAM_HTTP_TOKEN_FILE'),
  )
  .addOption(
    new Option('--state-dir <dir>', 'where stores live (else spec.processing.stateDir, then /tmp/kubestream)').env(
      'KUBESTREAM_STATE_DIR',
    ),
  )
  .addOption(
    new Option(
      '--instance-id <id>',
      'stable replica name: static group membership and the transactional id (the pod name)',
    ).env('KUBESTREAM_INSTANCE_ID'),
  )
  .addOption(
    new Option(
      '--advertised-url <url>',
      'where the other replicas reach this one for interactive queries (default http://<hostname>:<http port>)',
    ).env('KUBESTREAM_ADVERTISED_URL'),
  )
  .addOption(
    new Option(
      '--ingest <mode>',
      'non-Kafka sources (a tracer): on = read them and run the steps, only = just land their records (per-node ' +
        'DaemonSet), off = just run the steps',
    )
      .choices(['on', 'only', 'off'])
      .default('on')
      .env('KUBESTREAM_INGEST'),
  )
  .action(
    async (
      file: string,
      options: {
        httpPort?: number
        httpHost: string
        httpTokenFile?: string
        advertisedUrl?: string
        stateDir?: string
        instanceId?: string
        ingest: IngestMode
        kafkaConfig?: string
      },
    ) => {
      // Loaded here: validate, describe and schema never load librdkafka, LMDB or the Kubernetes client.
      const { runTopology } = await import('./run.js')
      await runTopology(file, options)
    },
  )

program
  .command('query')
  .description(
    "Ask a running topology's store: a key's value, windows or sessions (by the store's type), its owner, or a " +
      'key range; any replica answers, routing to the owner.',
  )
  .argument('<store>', 'store name (as `describe` lists them)')
  .argument('[key]', 'the key; without one, a page of keys from --from to --to')
  .addOption(
    new Option('--url <url>', "any replica's HTTP server").default('http://localhost:8080').env('KUBESTREAM_URL'),
  )
  .addOption(
    new Option('--token-file <file>', 'the bearer token the replicas require').env('KUBESTREAM_HTTP_TOKEN_FILE'),
  )
  .option('--owner', 'say which replica and partition hold the key, not its value')
  .option('--from <from>', 'windows: first window start (epoch ms or ISO-8601); range: first key')
  .option('--to <to>', 'windows: end, exclusive; range: end key, exclusive')
  .option('--limit <n>', 'range: entries per page (default 100)')
  .option('--after <token>', 'range: the `next` token of the previous page')
  .option('--standby-ok', 'accept an answer from a standby copy (it says how far behind it is)')
  .action(async (store: string, key: string | undefined, options: QueryOptions) => {
    await queryStore(store, key, options)
  })

program
  .command('validate')
  .description('Load a topology (YAML, schema, CEL, wiring) and report the first error with file:line:column.')
  .argument('<file>', 'topology YAML file')
  .addOption(kafkaConfigOption())
  .action((file: string, options: { kafkaConfig?: string }) => {
    const graph = loadTopologyFile(file, process.env, { kafkaFile: options.kafkaConfig })
    const count = (kind: string) => [...graph.nodes.values()].filter((n) => n.kind === kind).length
    console.log(
      `${file}: valid topology "${graph.applicationId}" (${count('source')} sources, ${count('step')} steps, ` +
        `${count('sink')} sinks)`,
    )
  })

program
  .command('describe')
  .description('Print the topology as a tree of sub-topologies, sources, processors and sinks.')
  .argument('<file>', 'topology YAML file')
  .addOption(new Option('--format <format>', 'output format').choices(['text', 'mermaid']).default('text'))
  .addOption(kafkaConfigOption())
  .action((file: string, options: { format: 'text' | 'mermaid'; kafkaConfig?: string }) => {
    const graph = loadTopologyFile(file, process.env, { kafkaFile: options.kafkaConfig })
    process.stdout.write(options.format === 'mermaid' ? describeMermaid(graph) : describeText(graph))
  })

program
  .command('schema')
  .description('Print the JSON Schema of topology files, for editor validation.')
  .action(() => {
    console.log(JSON.stringify(topologySchema, null, 2))
  })

function port(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('not a port number')
  return n
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof TopologyError) console.error(`error: ${error.message}`)
  else console.error(error)
  process.exit(1)
})
