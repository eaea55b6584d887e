/** Codes for failures of the state layer; `canRetry` says whether trying again can help. */
export type StateErrorCode =
  /** Another live process holds the task's lock in this state dir. */
  | 'TASK_LOCKED'
  /** Reading the changelog back failed. */
  | 'RESTORE'
  /** The state dir cannot be opened or written. */
  | 'STATE_DIR'

/** A failure of a task's state. Named after the recovery it calls for, as Kafka Streams' are. */
export class StateError extends Error {
  constructor(readonly code: StateErrorCode, message: string, readonly canRetry: boolean, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StateError'
  }
}
