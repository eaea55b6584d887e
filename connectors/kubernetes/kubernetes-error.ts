import { KubestreamError, type Recovery } from '../../core/kubestream-error.js'

/**
 * Why a request to the Kubernetes API failed. `GONE` (410) means the resourceVersion asked for
 * is older than the server keeps: the watch must list again. `IDLE` is a watch that answered
 * and then sent nothing for the idle timeout — a quiet resource, not a failure: it resumes at
 * once from the last resourceVersion. The others are retried with backoff.
 */
export type KubernetesErrorCode = 'UNREACHABLE' | 'TIMEOUT' | 'IDLE' | 'HTTP_STATUS' | 'GONE' | 'GARBAGE' | 'CONFIG'

export class KubernetesError extends KubestreamError<KubernetesErrorCode> {
  constructor(
    code: KubernetesErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
  }

  /** A GONE lists again at once; CONFIG (no usable kubeconfig) cannot get better by itself. */
  get recovery(): Recovery {
    return this.code === 'CONFIG' ? 'stop' : 'retry'
  }
}

/** A failed answer as an error: 410 is GONE, anything else HTTP_STATUS. */
export function statusError(status: number, message: string): KubernetesError {
  return new KubernetesError(status === 410 ? 'GONE' : 'HTTP_STATUS', message, status)
}
