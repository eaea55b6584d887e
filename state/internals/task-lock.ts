import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { StateError } from '../state-error.js'

/**
 * A task's claim on its stores in a state dir: a lock file holding the owner's pid, created
 * exclusively. A file whose pid is no longer alive (a replica killed with -9) is stale and is
 * taken over, so a restart never waits; a live owner makes the claim fail with TASK_LOCKED.
 */
export class TaskLock {
  private constructor(private readonly path: string) {}

  static acquire(dir: string, taskId: string): TaskLock {
    const path = join(dir, `${taskId}.lock`)
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx')
        writeSync(fd, String(process.pid))
        closeSync(fd)
        return new TaskLock(path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StateError('STATE_DIR', `cannot lock task ${taskId} in ${dir}: ${(error as Error).message}`, {
            cause: error,
          })
        }
        const owner = ownerOf(path)
        if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
          throw new StateError('TASK_LOCKED', `task ${taskId} in ${dir} is locked by live process ${owner}`)
        }
        removeQuietly(path)
      }
    }
    throw new StateError('TASK_LOCKED', `task ${taskId} in ${dir}: could not take over a stale lock`)
  }

  release(): void {
    removeQuietly(this.path)
  }
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8'))
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone
  }
}
