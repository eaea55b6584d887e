import type { GeneratedEnvelope } from './cluster-events.js'

const MINUTE = 60_000

/** The fields of an EventRouter envelope the count depends on. */
interface Envelope {
  verb: string
  event: {
    type: string
    reason: string
    lastTimestamp: string
    metadata: { namespace: string; resourceVersion: string }
  }
  old_event?: { metadata: { resourceVersion: string } }
}

/**
 * The (key, window) examples/warning-counts.yaml counts a generated envelope under, as
 * `<namespace>/<reason>@<window start ms>` (its output key), computed from the envelope and
 * nothing of the engine; undefined for an envelope it does not count: only a Warning that is
 * news (ADDED, or a repeat whose resourceVersion moved) counts, in the minute of its lastTimestamp.
 */
export function warningCountKey(envelope: GeneratedEnvelope): string | undefined {
  if (envelope.kind === 'malformed') return undefined
  const { verb, event, old_event: old } = JSON.parse(envelope.value.toString()) as Envelope
  if (verb === 'UPDATED' && old && old.metadata.resourceVersion === event.metadata.resourceVersion) return undefined
  if (event.type !== 'Warning') return undefined
  const start = Math.floor(Date.parse(event.lastTimestamp) / MINUTE) * MINUTE
  return `${event.metadata.namespace}/${event.reason}@${start}`
}
