import type { SourceNode } from '../topology/graph.js'
import type { Source, SourceContext } from './source.js'

/** Whether a source of the topology is read by kubestream itself rather than from a Kafka topic. */
export function isIngested(source: SourceNode): boolean {
  return source.tracer !== undefined || source.kubernetes !== undefined
}

/**
 * The one place that knows every source kind: a new kind is a folder beside these and a line here.
 * Each kind is loaded only when a topology has one: the Kubernetes client alone is ~45 MB of a
 * pod's memory.
 */
export async function openSource(source: SourceNode, context: SourceContext): Promise<Source> {
  if (source.tracer) return (await import('./tracer/tracer-source.js')).TracerSource.open(source, context)
  if (source.kubernetes)
    return (await import('./kubernetes/kubernetes-source.js')).KubernetesSource.open(source, context)
  throw new Error(`source "${source.name}" reads a Kafka topic, not something kubestream ingests`)
}
