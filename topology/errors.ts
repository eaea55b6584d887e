/** Where in a topology file something is; line and column count from 1, as editors show them. */
export interface SourcePosition {
  file: string
  line: number
  column: number
}

export type TopologyErrorCode =
  | 'YAML_SYNTAX'
  | 'SCHEMA'
  | 'UNKNOWN_FIELD'
  | 'STEP_OPERATOR'
  | 'EXPRESSION'
  | 'DANGLING_FROM'
  | 'DUPLICATE_NAME'
  | 'CYCLE'
  | 'WINDOW'
  | 'STORE'
  | 'JOIN'
  | 'ENV'
  | 'FILE'

/**
 * A topology that cannot run. Thrown at load, before any Kafka client exists.
 * `canRetry` is false: the file has to change.
 */
export class TopologyError extends Error {
  readonly canRetry = false
  constructor(
    readonly code: TopologyErrorCode,
    readonly reason: string,
    readonly position?: SourcePosition,
  ) {
    super(position ? `${position.file}:${position.line}:${position.column}: ${reason}` : reason)
    this.name = 'TopologyError'
  }
}
