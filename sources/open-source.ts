import type { SourceNode } from '../topology/graph.js'
import { KubernetesSource } from './kubernetes/kubernetes-source.js'
import type { Source, SourceContext } from './source.js'
import { TracerSource } from './tracer/tracer-source.js'

/** Whether a source of the topology is read by kubestream itself rather than from a Kafka topic. */
export function isIngested(source: SourceNode): boolean {
  return source.tracer !== undefined || source.kubernetes !== undefined
}

/** The one place that knows every source kind: a new kind is a folder beside these and a line here. */
export function openSource(source: SourceNode, context: SourceContext): Source {
  if (source.tracer) return TracerSource.open(source, context)
  if (source.kubernetes) return KubernetesSource.open(source, context)
  throw new Error(`source "${source.name}" reads a Kafka topic, not something kubestream ingests`)
}
