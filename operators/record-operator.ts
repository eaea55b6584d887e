import { Observable, type OperatorFunction } from 'rxjs'
import { type DeadLetter, RecordError } from '../core/record-error.js'
import type { RecordBatch, StreamRecord } from '../core/record.js'
import type { WindowedStats } from '../core/windowed-stats.js'

/** What every operator instance knows of where it runs. */
export interface StepContext {
  /** The step's name, as written in the topology: it names the step in dead-letter headers and metrics. */
  readonly step: string
  /** Sends a record that failed here to the dead-letter topic. */
  readonly deadLetter: DeadLetter
  /** Milliseconds spent per step, its own work only (kubestream_step_process_seconds_total). */
  readonly processMs?: Map<string, number>
  /** Records handed to each step (kubestream_step_records_total): the topology page's rates. */
  readonly stepRecords?: Map<string, number>
  /** At a sink: each record's age when it is sent, now minus its timestamp (Kafka Streams' record-e2e-latency). */
  readonly e2eLatency?: WindowedStats
}

/**
 * The one helper every record operator is built with: it loops over a batch, hands each record
 * to `process` with the output array, and routes a RecordError to the dead-letter topic so one
 * bad record never fails the batch. Any other throw is a fault of the task and errors the
 * pipeline. An emptied batch is not passed on.
 */
export function recordOperator(
  context: StepContext,
  process: (record: StreamRecord, out: RecordBatch) => void,
  /** Runs once after each batch, with the batch's last record: where windows close on stream time. */
  endOfBatch?: (last: StreamRecord, out: RecordBatch) => void,
): OperatorFunction<RecordBatch, RecordBatch> {
  return (source) =>
    new Observable<RecordBatch>((subscriber) =>
      source.subscribe({
        next(batch) {
          const started = performance.now()
          const out: RecordBatch = []
          for (let i = 0; i < batch.length; i++) {
            const record = batch[i]
            try {
              process(record, out)
            } catch (error) {
              if (!(error instanceof RecordError)) return subscriber.error(error)
              context.deadLetter(record, error, context.step)
            }
          }
          if (endOfBatch && batch.length > 0) {
            try {
              endOfBatch(batch[batch.length - 1], out)
            } catch (error) {
              return subscriber.error(error)
            }
          }
          // Timed per batch, before the steps below run inside subscriber.next.
          context.processMs?.set(context.step, (context.processMs.get(context.step) ?? 0) + performance.now() - started)
          context.stepRecords?.set(context.step, (context.stepRecords.get(context.step) ?? 0) + batch.length)
          if (out.length > 0) subscriber.next(out)
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    )
}
