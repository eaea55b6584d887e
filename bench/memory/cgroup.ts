import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = '/sys/fs/cgroup'

/** What a memory cgroup says of the processes in it, in bytes. */
export interface MemorySample {
  /** Anonymous memory: heaps, librdkafka's buffers — what a limit cannot reclaim. */
  anon: number
  /** File-backed: page cache, LMDB's map, loaded code — reclaimed under the limit. */
  file: number
}

/**
 * A memory cgroup with a limit, as Kubernetes gives a container one (cgroup v1's
 * memory.limit_in_bytes or v2's memory.max, whichever the machine has). Needs root.
 */
export class MemoryCgroup {
  private constructor(
    readonly path: string,
    private readonly v2: boolean,
  ) {}

  static create(name: string, limitBytes: number): MemoryCgroup {
    const v2 = existsSync(join(ROOT, 'cgroup.controllers'))
    const path = v2 ? join(ROOT, name) : join(ROOT, 'memory', name)
    mkdirSync(path, { recursive: true })
    const group = new MemoryCgroup(path, v2)
    if (v2) group.write('memory.max', String(limitBytes))
    else {
      group.write('memory.limit_in_bytes', String(limitBytes))
      // No swap to hide an overrun in, as in a pod.
      if (existsSync(join(path, 'memory.memsw.limit_in_bytes')))
        group.write('memory.memsw.limit_in_bytes', String(limitBytes))
    }
    return group
  }

  /** A shell prefix that moves itself into the group, then execs the command given after it. */
  launcher(): string[] {
    return ['sh', '-c', `echo $$ > ${join(this.path, 'cgroup.procs')} && exec "$@"`, 'sh']
  }

  sample(): MemorySample {
    const stat = this.stat()
    return this.v2
      ? { anon: stat.get('anon') ?? 0, file: stat.get('file') ?? 0 }
      : { anon: (stat.get('total_rss') ?? 0) + (stat.get('total_rss_huge') ?? 0), file: stat.get('total_cache') ?? 0 }
  }

  /** Processes the kernel killed for going over the limit. */
  oomKills(): number {
    const file = this.v2 ? 'memory.events' : 'memory.oom_control'
    const line = /^oom_kill (\d+)$/m.exec(readFileSync(join(this.path, file), 'utf8'))
    return Number(line?.[1] ?? 0)
  }

  remove(): void {
    try {
      rmdirSync(this.path)
    } catch {
      // a process still in it: the kernel removes nothing while it lives
    }
  }

  private stat(): Map<string, number> {
    const text = readFileSync(join(this.path, 'memory.stat'), 'utf8')
    return new Map(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [key, value] = line.split(' ')
          return [key, Number(value)] as const
        }),
    )
  }

  private write(file: string, value: string): void {
    writeFileSync(join(this.path, file), value)
  }
}
