import { API_VERSION } from './spec.js'

/** Names end up in topic names (changelogs, repartitions), so they follow Kafka's topic alphabet. */
const name = { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,200}$' } as const
const expression = { type: 'string', minLength: 1 } as const
const clientConfig = {
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
} as const
const topicSettings = {
  partitions: { type: 'integer', minimum: 1 },
  replicationFactor: { type: 'integer', minimum: 1 },
  config: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
} as const
const format = { enum: ['json', 'string', 'bytes'] } as const

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
      required: ['sources', 'sinks'],
      properties: {
        kafka: {
          type: 'object',
          additionalProperties: false,
          properties: {
            bootstrapServers: { type: 'string', minLength: 1 },
            config: clientConfig,
            consumer: clientConfig,
            producer: clientConfig,
          },
        },
        processing: {
          type: 'object',
          additionalProperties: false,
          properties: {
            guarantee: { enum: ['at_least_once'] },
            commitIntervalMs: { type: 'integer', minimum: 10 },
            maxBatchSize: { type: 'integer', minimum: 1, maximum: 100000 },
            shutdownTimeoutMs: { type: 'integer', minimum: 100 },
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
            required: ['name', 'kafka'],
            properties: {
              name,
              description: { type: 'string' },
              kafka: {
                type: 'object',
                additionalProperties: false,
                required: ['topic'],
                properties: {
                  topic: { type: 'string', minLength: 1 },
                  format,
                  startOffset: { enum: ['earliest', 'latest'] },
                },
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
            },
          },
        },
        sinks: {
          type: 'array',
          minItems: 1,
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
