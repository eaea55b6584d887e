import { KubestreamError, type Recovery } from '../core/kubestream-error.js'

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

/** A topology that cannot run. Thrown at load, before any Kafka client exists: the file has to change. */
export class TopologyError extends KubestreamError<TopologyErrorCode> {
  constructor(
    code: TopologyErrorCode,
    readonly reason: string,
    readonly position?: SourcePosition,
  ) {
    super(code, position ? `${position.file}:${position.line}:${position.column}: ${reason}` : reason)
  }

  get recovery(): Recovery {
    return 'stop'
  }
}
