import { KubestreamError, type Recovery } from '../core/kubestream-error.js'

/** Codes for failures of the state layer. */
export type StateErrorCode =
  /** Another live process holds the task's lock in this state dir. */
  | 'TASK_LOCKED'
  /** Reading the changelog back failed. */
  | 'RESTORE'
  /** The state dir cannot be opened or written. */
  | 'STATE_DIR'

const RECOVERY: Readonly<Record<StateErrorCode, Recovery>> = {
  TASK_LOCKED: 'stop',
  // The changelog consumer reconnects; a source's restore is retried with backoff.
  RESTORE: 'retry',
  STATE_DIR: 'stop',
}

/** A failure of a task's state. */
export class StateError extends KubestreamError<StateErrorCode> {
  get recovery(): Recovery {
    return RECOVERY[this.code]
  }
}
