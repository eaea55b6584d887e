import { sanitizeTopicName } from '../connectors/kafka/topic-name.js'
import { projectedJson, type Serde, serdes } from '../connectors/serde/serde.js'
import type { TopicSpec } from '../core/record-collector.js'
import type { GlobalTableDefinition, StoreDefinition } from '../state/store-definition.js'
import { TopologyError } from './errors.js'
import type { SourceNode, StepNode, TopologyGraph } from './graph.js'
import { sourceFieldTree } from './source-fields.js'
import type { Format } from './spec.js'

/**
 * A sub-topology (Kafka Streams' sub-topology): input topics and everything downstream of them
 * up to the next repartition topic. A task is a sub-topology on one partition of its inputs.
 */
export interface SubTopology {
  readonly id: number
  readonly inputs: readonly SubTopologyInput[]
  /** Stores of its stateful steps, by store name. */
  readonly stores: ReadonlyMap<string, StoreDefinition>
}

export interface SubTopologyInput {
  /** A source of the topology, or the synthetic source that reads a repartition topic. */
  readonly source: SourceNode
  /** Decodes the input's values: for JSON, into only the fields the steps below read. */
  readonly valueSerde: Serde
  /** The repartition topic, when this input is one; its partition count comes from upstream. */
  readonly repartition?: RepartitionDefinition
}

/** The topic a keyBy writes through so that a stateful step downstream sees each key on one task. */
export interface RepartitionDefinition {
  /** `<application id>-<step>-repartition`, named after the stateful step it feeds. */
  readonly topic: string
  /** The stateful step it feeds. */
  readonly step: string
  /** How its values are written and read: the source's format while the value is unchanged, else JSON. */
  readonly format: Format
  /** Set in the topology; else the writing sub-topology's partition count. */
  readonly partitions?: number
  /** The sub-topology that writes it. */
  readonly upstream: number
}

/** A global table as compiled: what the state layer reads it with, and the source it comes from. */
export interface CompiledGlobalTable extends GlobalTableDefinition {
  readonly source: SourceNode
}

export interface CompiledTopology {
  readonly graph: TopologyGraph
  readonly subTopologies: readonly SubTopology[]
  readonly globalTables: readonly CompiledGlobalTable[]
  /** Stateful steps fed through a repartition topic, by step name. */
  readonly repartitionBefore: ReadonlyMap<string, RepartitionDefinition>
  /** Output topics known before any record arrives, created at start (internal topics aside). */
  readonly fixedTopics: ReadonlyArray<readonly [string, TopicSpec]>
}

/**
 * Splits the graph into sub-topologies: a keyBy (or a windowed aggregation's new key) upstream
 * of a stateful step means records must be re-partitioned by their new key before it, so the
 * edge into that step becomes a repartition topic and the step starts a new sub-topology.
 */
export function compileTopology(graph: TopologyGraph): CompiledTopology {
  rejectSharedSourceTopics(graph)
  const subTopologies: Array<{ id: number; inputs: SubTopologyInput[]; stores: Map<string, StoreDefinition> }> = []
  const repartitionBefore = new Map<string, RepartitionDefinition>()

  const visit = (
    sub: (typeof subTopologies)[number],
    node: SourceNode | StepNode,
    keyChanged: boolean,
    format: Format,
  ) => {
    for (const child of node.children) {
      if (child.kind === 'sink') continue
      const { operator } = child
      const keyed = operator.type === 'aggregate' || (operator.type === 'join' && !operator.global)
      if (!keyed) {
        const valueChanged = operator.type === 'map' || operator.type === 'flatMap' || operator.type === 'join'
        visit(sub, child, keyChanged || operator.type === 'keyBy', valueChanged ? 'json' : format)
        continue
      }
      let owner = sub
      if (keyChanged) {
        const repartition: RepartitionDefinition = {
          topic: `${graph.applicationId}-${child.name}-repartition`,
          step: child.name,
          format,
          partitions: operator.repartitionPartitions,
          upstream: sub.id,
        }
        repartitionBefore.set(child.name, repartition)
        owner = { id: subTopologies.length, inputs: [], stores: new Map() }
        owner.inputs.push(input(repartitionSource(repartition, child), repartition))
        subTopologies.push(owner)
      }
      if (operator.type === 'join') {
        addTable(owner, operator.table, child.name)
        visit(owner, child, false, 'json')
        continue
      }
      const storeType = operator.window?.type === 'session' ? 'session' : operator.window ? 'window' : 'keyValue'
      owner.stores.set(operator.store, storeOf(graph.applicationId, child.name, operator.store, storeType))
      // A windowed result is keyed by key and window: a stateful step below it regroups.
      visit(owner, child, operator.window !== undefined, 'json')
    }
  }

  /** A co-partitioned table is an input of the sub-topology that joins it, and its store one of its stores. */
  const tableOwners = new Map<string, number>()
  const addTable = (sub: (typeof subTopologies)[number], tableName: string, step: string) => {
    const owner = tableOwners.get(tableName)
    if (owner === sub.id) return
    if (owner !== undefined)
      throw new TopologyError(
        'JOIN',
        `table "${tableName}" is joined in two sub-topologies (${owner} and ${sub.id}); join it once, or make it ` +
          `global`,
      )
    tableOwners.set(tableName, sub.id)
    const table = graph.sources.find((s) => s.name === tableName)!
    sub.inputs.push({ source: table, valueSerde: serdes[table.format] })
    sub.stores.set(table.table!.store, storeOf(graph.applicationId, step, table.table!.store, 'keyValue'))
  }

  for (const source of graph.sources) {
    if (source.table) continue
    // A tracer or Kubernetes source whose records only land in their topic has nothing to read back.
    if ((source.tracer || source.kubernetes) && source.children.length === 0) continue
    const sub = { id: subTopologies.length, inputs: [input(source)], stores: new Map<string, StoreDefinition>() }
    subTopologies.push(sub)
    visit(sub, source, false, source.format)
  }

  const fixedTopics: Array<readonly [string, TopicSpec]> = [[graph.deadLetter.topic, graph.deadLetter]]
  for (const node of graph.nodes.values()) {
    if (node.kind === 'sink' && node.topic.isStatic)
      fixedTopics.push([sanitizeTopicName(node.topic.source), node.topicSettings])
    if (node.kind === 'source' && node.tracer) fixedTopics.push([node.topic, node.tracer.topicSettings])
    if (node.kind === 'source' && node.kubernetes) {
      fixedTopics.push([node.topic, node.kubernetes.topicSettings])
      if (node.kubernetes.changelogTopic)
        fixedTopics.push([node.kubernetes.changelogTopic, { partitions: 1, config: { 'cleanup.policy': 'compact' } }])
    }
  }
  const globalTables = graph.sources
    .filter((s) => s.table?.global)
    .map((source) => ({
      source,
      sourceName: source.name,
      topic: source.topic,
      store: source.table!.store,
      valueSerde: serdes[source.format],
    }))
  return { graph, subTopologies, globalTables, repartitionBefore, fixedTopics }
}

function input(source: SourceNode, repartition?: RepartitionDefinition): SubTopologyInput {
  const fields = source.format === 'json' ? sourceFieldTree(source) : undefined
  return { source, valueSerde: fields ? projectedJson(fields) : serdes[source.format], repartition }
}

/** The source side of a repartition topic: it feeds only the stateful step it was made for. */
function repartitionSource(repartition: RepartitionDefinition, step: StepNode): SourceNode {
  return {
    kind: 'source',
    name: repartition.topic,
    topic: repartition.topic,
    format: repartition.format,
    startOffset: 'earliest',
    children: [step],
  }
}

function storeOf(applicationId: string, step: string, name: string, type: StoreDefinition['type']): StoreDefinition {
  return { name, type, changelogTopic: `${applicationId}-${name}-changelog`, step }
}

function rejectSharedSourceTopics(graph: TopologyGraph): void {
  const readers = new Map<string, string>()
  for (const source of graph.sources) {
    const other = readers.get(source.topic)
    if (other)
      throw new TopologyError(
        'DUPLICATE_NAME',
        `sources "${other}" and "${source.name}" both read topic ${source.topic}`,
      )
    readers.set(source.topic, source.name)
  }
}
