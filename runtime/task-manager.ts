import type { ConsumedMessage, FetchPosition, TopicPartition } from '../core/record-consumer.js'
import { eventTime } from '../operators/event-time.js'
import type { StateDirectory } from '../state/state-directory.js'
import { TaskStores } from '../state/task-stores.js'
import type { CompiledTopology, SubTopology } from '../topology/compile.js'
import { PartitionProgress } from './partition-progress.js'
import { StreamTask, type TaskInput, TaskState } from './stream-task.js'
import { buildPipeline, type PipelineRuntime } from './task-pipeline.js'
import { TaskWindowCounters } from './task-window-counters.js'

/** What every task's pipeline shares: where outputs and dead letters go, and how a fault stops the replica. */
export type SharedRuntime = Omit<PipelineRuntime, 'keyValueStore' | 'windowStore' | 'sessionStore'>

/**
 * The tasks of this replica (Kafka Streams' TaskManager): one per (sub-topology, partition),
 * created when the group assigns any of its input partitions, found by input partition, and
 * closed when they are revoked. Task ids are `<sub-topology>_<partition>`.
 */
export class TaskManager {
  private readonly tasks = new Map<string, StreamTask>()
  /** Input topic → the task of each of its partitions (indexed by partition): no string built per record. */
  private readonly byInput = new Map<string, Array<StreamTask | undefined>>()
  private readonly subTopologyOf = new Map<string, SubTopology>()

  constructor(
    private readonly compiled: CompiledTopology,
    private readonly shared: () => SharedRuntime,
    private readonly stateDirectory: () => StateDirectory,
    /** Told the tasks after each assignment or close (standby copies follow it). */
    private readonly onChange: (tasks: StreamTask[]) => void = () => undefined,
  ) {
    for (const sub of compiled.subTopologies)
      for (const { source } of sub.inputs) this.subTopologyOf.set(source.topic, sub)
  }

  get size(): number {
    return this.tasks.size
  }

  /** A task by id, `<sub-topology>_<partition>`. */
  get(id: string): StreamTask | undefined {
    return this.tasks.get(id)
  }

  all(): StreamTask[] {
    return [...this.tasks.values()]
  }

  inState(state: TaskState): StreamTask[] {
    return this.all().filter((task) => task.state === state)
  }

  /** Creates the tasks of newly assigned partitions; a task's other inputs arrive in the same assignment. */
  assign(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const sub = this.subTopologyOf.get(topic)
      if (!sub) continue
      const id = `${sub.id}_${partition}`
      let task = this.tasks.get(id)
      if (!task) this.tasks.set(id, (task = this.create(sub, partition)))
      this.inputTasks(topic)[partition] = task
    }
    this.onChange(this.all())
  }

  /** The tasks that read any of these partitions. */
  tasksOf(partitions: TopicPartition[]): StreamTask[] {
    return [...new Set(partitions.flatMap(({ topic, partition }) => this.byInput.get(topic)?.[partition] ?? []))]
  }

  close(tasks: StreamTask[]): void {
    for (const task of tasks) {
      task.close()
      this.tasks.delete(task.id)
      for (const topic of task.inputs.keys()) this.inputTasks(topic)[task.partition] = undefined
    }
    if (tasks.length > 0) this.onChange(this.all())
  }

  /**
   * Splits a consumed batch by input partition (order within a partition kept) and hands each
   * run to its task. Returns the count per topic, for metrics.
   */
  dispatch(
    messages: ConsumedMessage[],
    fetchPosition: (topic: string, partition: number, nextExpected: number | undefined) => FetchPosition,
    maxIdleMs: number,
  ): Map<string, number> {
    const runs = new Map<StreamTask, Map<string, ConsumedMessage[]>>()
    for (const message of messages) {
      const task = this.byInput.get(message.topic)?.[message.partition]
      // Revoked while the batch was in flight: the new owner reads it again.
      if (!task || task.state !== TaskState.RUNNING) continue
      let byTopic = runs.get(task)
      if (!byTopic) runs.set(task, (byTopic = new Map<string, ConsumedMessage[]>()))
      let run = byTopic.get(message.topic)
      if (!run) byTopic.set(message.topic, (run = []))
      run.push(message)
    }
    const counts = new Map<string, number>()
    for (const [task, byTopic] of runs) {
      for (const [topic, run] of byTopic) {
        counts.set(topic, (counts.get(topic) ?? 0) + run.length)
        task.processedRecords += run.length
        task.process(topic, run)
      }
    }
    // Multi-input tasks take what their queues allow, also when nothing new came for them.
    const now = Date.now()
    for (const task of this.tasks.values())
      task.drain((topic, next) => fetchPosition(topic, task.partition, next), maxIdleMs, now)
    return counts
  }

  private inputTasks(topic: string): Array<StreamTask | undefined> {
    let tasks = this.byInput.get(topic)
    if (!tasks) this.byInput.set(topic, (tasks = []))
    return tasks
  }

  private create(sub: SubTopology, partition: number): StreamTask {
    const id = `${sub.id}_${partition}`
    const stores =
      sub.stores.size > 0 ? new TaskStores(id, partition, sub.stores.values(), this.stateDirectory()) : undefined
    const shared = this.shared()
    const windowCounters = new TaskWindowCounters(shared.windowCounters)
    const runtime: PipelineRuntime = {
      ...shared,
      windowCounters,
      keyValueStore: (name) => stores!.keyValueStore(name),
      windowStore: (name) => stores!.windowStore(name),
      sessionStore: (name) => stores!.sessionStore(name),
    }
    const pipelines = buildPipeline(this.compiled, sub, runtime)
    const inputs = new Map<string, TaskInput>(
      sub.inputs.map(({ source, valueSerde }) => [
        source.topic,
        {
          topic: source.topic,
          sourceName: source.name,
          serde: valueSerde,
          eventTime: source.timestamp && eventTime(source.timestamp),
          pipeline: pipelines.get(source.topic)!,
          progress: new PartitionProgress(),
        },
      ]),
    )
    return new StreamTask(id, partition, inputs, stores, shared.deadLetter, windowCounters)
  }
}
