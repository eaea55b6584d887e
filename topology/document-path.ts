import type { SourcePosition, TopologyErrorCode } from './errors.js'

/** A path into the document, e.g. `['spec', 'steps', 0, 'filter']`. */
export type DocumentPath = ReadonlyArray<string | number>

/** Maps a document path (and an offset inside that string) to file:line:column, when known. */
export type Locator = (path: DocumentPath, offsetInValue?: number) => SourcePosition | undefined

/** Stops the load with a TopologyError at a place in the document. */
export type Fail = (code: TopologyErrorCode, reason: string, path: DocumentPath, offset?: number) => never

/** `spec.steps[0].filter`: a path as the operator reads it in an error. */
export function formatPath(path: DocumentPath): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part),
    '',
  )
}
