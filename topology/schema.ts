import { API_VERSION } from './spec.js'

/** Names end up in topic names (changelogs, repartitions), so they follow Kafka's topic alphabet. */
const name = { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,200}$' } as const
const expression = { type: 'string', minLength: 1 } as const
const clientConfig = {
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
} as const
const path = { type: 'string', minLength: 1 } as const
const variable = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } as const
/** spec.kafka.security: secrets by file or environment variable, never by value. */
const security = {
  type: 'object',
  additionalProperties: false,
  properties: {
    protocol: { enum: ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        caFile: path,
        certFile: path,
        keyFile: path,
        keyPasswordFile: path,
        keyPasswordEnv: variable,
        verifyHostname: { type: 'boolean' },
      },
      dependencies: { certFile: ['keyFile'], keyFile: ['certFile'] },
    },
    sasl: {
      type: 'object',
      additionalProperties: false,
      required: ['mechanism'],
      properties: {
        mechanism: { enum: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] },
        username: { type: 'string', minLength: 1 },
        usernameFile: path,
        passwordFile: path,
        passwordEnv: variable,
      },
    },
  },
} as const
const topicSettings = {
  partitions: { type: 'integer', minimum: 1 },
  replicationFactor: { type: 'integer', minimum: 1 },
  config: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
} as const
const format = { enum: ['json', 'string', 'bytes'] } as const
const duration = {
  anyOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$' },
  ],
  description: 'milliseconds, or a number with ms, s, m, h or d',
} as const
const aggregation = {
  store: name,
  window: {
    type: 'object',
    additionalProperties: false,
    properties: {
      tumbling: duration,
      hopping: duration,
      advance: duration,
      session: duration,
      grace: duration,
      retention: duration,
    },
  },
  emit: { enum: ['onUpdate', 'onWindowClose'] },
  repartition: {
    type: 'object',
    additionalProperties: false,
    properties: { partitions: { type: 'integer', minimum: 1 } },
  },
} as const

/**
 * JSON Schema (draft-07) of a topology file; `kubestream schema` prints it for editors
 * (yaml-language-server: `# yaml-language-server: $schema=…`).
 */
export const topologySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://kubestream.io/schemas/topology-v1alpha1.json',
  title: 'kubestream Topology',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: API_VERSION },
    kind: { const: 'Topology' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { ...name, description: 'Application id: consumer group and internal topic prefix' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['sources'],
      properties: {
        kafka: {
          type: 'object',
          additionalProperties: false,
          properties: {
            bootstrapServers: { type: 'string', minLength: 1 },
            config: clientConfig,
            consumer: clientConfig,
            producer: clientConfig,
            security,
          },
        },
        processing: {
          type: 'object',
          additionalProperties: false,
          properties: {
            guarantee: { enum: ['at_least_once', 'exactly_once'] },
            commitIntervalMs: { type: 'integer', minimum: 10 },
            maxBatchSize: { type: 'integer', minimum: 1, maximum: 100000 },
            maxBufferedChanges: { type: 'integer', minimum: 1 },
            shutdownTimeoutMs: { type: 'integer', minimum: 100 },
            stateDir: { type: 'string', minLength: 1 },
            maxTaskIdleMs: { type: 'integer', minimum: 0 },
            standbyReplicas: { type: 'integer', minimum: 0 },
            repartitionPurgeIntervalMs: { type: 'integer', minimum: 100 },
            metricsRecordingLevel: { enum: ['INFO', 'DEBUG', 'TRACE'] },
          },
        },
        deadLetter: {
          type: 'object',
          additionalProperties: false,
          properties: { topic: { type: 'string', minLength: 1 }, ...topicSettings },
        },
        sources: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name,
              description: { type: 'string' },
              tracer: {
                type: 'object',
                additionalProperties: false,
                required: ['topic'],
                properties: {
                  socket: { type: 'string', minLength: 1 },
                  ndjsonFile: { type: 'string', minLength: 1 },
                  ndjsonSocket: { type: 'string', minLength: 1 },
                  path: { type: 'string', pattern: '^/' },
                  interval: duration,
                  timeout: duration,
                  maxBackoff: duration,
                  node: { type: 'string' },
                  keepLoopback: { type: 'boolean' },
                  store: name,
                  topic: { type: 'string', minLength: 1 },
                  ...topicSettings,
                },
              },
              kubernetes: {
                type: 'object',
                additionalProperties: false,
                required: ['resource', 'topic'],
                properties: {
                  resource: { enum: ['events', 'events.k8s.io', 'pods', 'services', 'nodes'] },
                  topic: { type: 'string', minLength: 1 },
                  namespaces: { type: 'array', items: { type: 'string', minLength: 1 } },
                  labelSelector: { type: 'string' },
                  node: { type: 'string' },
                  kubeconfig: { type: 'string' },
                  leaderElection: {
                    anyOf: [
                      { type: 'boolean' },
                      {
                        type: 'object',
                        additionalProperties: false,
                        properties: {
                          lease: { type: 'string', minLength: 1 },
                          namespace: { type: 'string', minLength: 1 },
                          duration,
                        },
                      },
                    ],
                  },
                  store: name,
                  maxBackoff: duration,
                  watchTimeout: duration,
                  idleTimeout: duration,
                  ...topicSettings,
                },
              },
              kafka: {
                type: 'object',
                additionalProperties: false,
                required: ['topic'],
                properties: {
                  topic: { type: 'string', minLength: 1 },
                  format,
                  startOffset: { enum: ['earliest', 'latest'] },
                  timestamp: expression,
                },
              },
              table: {
                type: 'object',
                additionalProperties: false,
                properties: { store: name, global: { type: 'boolean' } },
              },
            },
          },
        },
        steps: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'from'],
            properties: {
              name,
              from: { type: 'string', minLength: 1 },
              description: { type: 'string' },
              filter: expression,
              map: expression,
              flatMap: expression,
              keyBy: expression,
              headers: { type: 'object', minProperties: 1, additionalProperties: expression },
              count: { type: 'object', additionalProperties: false, properties: aggregation },
              reduce: {
                type: 'object',
                additionalProperties: false,
                required: ['reducer'],
                properties: { ...aggregation, reducer: expression },
              },
              aggregate: {
                type: 'object',
                additionalProperties: false,
                required: ['initializer', 'adder'],
                properties: { ...aggregation, initializer: expression, adder: expression, merger: expression },
              },
              join: {
                type: 'object',
                additionalProperties: false,
                required: ['table'],
                properties: {
                  table: { type: 'string', minLength: 1 },
                  type: { enum: ['inner', 'left'] },
                  key: expression,
                  value: expression,
                  repartition: aggregation.repartition,
                },
              },
            },
          },
        },
        sinks: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'from', 'kafka'],
            properties: {
              name,
              from: { type: 'string', minLength: 1 },
              description: { type: 'string' },
              kafka: {
                type: 'object',
                additionalProperties: false,
                required: ['topic'],
                properties: { topic: { type: 'string', minLength: 1 }, format, ...topicSettings },
              },
            },
          },
        },
      },
    },
  },
} as const
