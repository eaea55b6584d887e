/**
 * What a failure calls for, the way Kafka Streams names its exceptions after their recovery:
 * - `retry`: transient; the same operation can succeed later (a broker or apiserver not reachable
 *   yet, a watch that expired and lists again), and the code that met it tries again with backoff;
 * - `dead-letter`: one record's problem; it goes to the dead-letter topic and processing goes on;
 * - `restart-task`: the group moved on from this member's tasks (a commit it refused); their
 *   uncommitted work is dropped and their next owner repeats it from the last commit;
 * - `stop`: the replica cannot go on as it is (a bad topology, a failed delivery, a lost lock);
 *   it stops and its process exits non-zero.
 */
export type Recovery = 'retry' | 'dead-letter' | 'restart-task' | 'stop'

/**
 * The base of every error kubestream raises past a layer: a code from the subclass's fixed list,
 * and the recovery that code calls for. Messages are for people; code reads `code` and `recovery`.
 */
export abstract class KubestreamError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = new.target.name
  }

  abstract get recovery(): Recovery
}

/** Whether an error says its task's work now belongs to another member of the group. */
export function taskMigrated(error: unknown): boolean {
  return error instanceof KubestreamError && error.recovery === 'restart-task'
}
