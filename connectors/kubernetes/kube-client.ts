import { KubeConfig } from '@kubernetes/client-node'
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http'
import { type RequestOptions, request as httpsRequest } from 'node:https'
import { KubernetesError, statusError } from './kubernetes-error.js'

/** The answer of one request: its status and parsed JSON body (a `Status` object on failures). */
export interface KubeResponse<T = unknown> {
  readonly status: number
  readonly body: T
}

/**
 * The few calls the Kubernetes sources make (GET a list, a streaming watch, lease CRUD), over
 * node's http(s) with the credentials of a kubeconfig. `@kubernetes/client-node` resolves the
 * kubeconfig (in-cluster service account, $KUBECONFIG, ~/.kube/config, exec plugins, client
 * certs); the requests are our own so that a watch's stream, its idle timeout and its errors
 * are in our hands.
 */
export class KubeClient {
  private constructor(
    private readonly config: KubeConfig,
    readonly server: string,
  ) {}

  /** From a kubeconfig file; without one, client-node's default order ($KUBECONFIG, ~/.kube/config, in-cluster). */
  static load(kubeconfig?: string): KubeClient {
    const config = new KubeConfig()
    try {
      if (kubeconfig) config.loadFromFile(kubeconfig)
      else config.loadFromDefault()
    } catch (error) {
      throw new KubernetesError(
        'CONFIG',
        `cannot load the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${(error as Error).message}`,
        undefined,
        { cause: error },
      )
    }
    const server = config.getCurrentCluster()?.server
    if (!server)
      throw new KubernetesError(
        'CONFIG',
        `the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''} names no cluster server (current context: ` +
          `${config.getCurrentContext() || 'none'})`,
      )
    return new KubeClient(config, server.replace(/\/+$/, ''))
  }

  /**
   * A JSON request; resolves with any status (the caller decides what a 404 or 409 means), rejects when there was no
   * answer.
   */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 30_000,
  ): Promise<KubeResponse<T>> {
    const req = await this.open(method, path, timeoutMs)
    return new Promise((resolve, reject) => {
      req.once('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.once('error', (error) => reject(unreachable(this.server, error)))
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          try {
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T })
          } catch {
            reject(
              new KubernetesError(
                'GARBAGE',
                `${method} ${path}: HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`,
                res.statusCode,
              ),
            )
          }
        })
      })
      req.once('timeout', () =>
        req.destroy(new KubernetesError('TIMEOUT', `${method} ${path}: no answer within ${timeoutMs} ms`)),
      )
      req.once('error', (error) => reject(error instanceof KubernetesError ? error : unreachable(this.server, error)))
      if (body !== undefined) req.setHeader('content-type', 'application/json')
      req.end(body === undefined ? undefined : JSON.stringify(body))
    })
  }

  /**
   * Opens a streaming GET (a watch) and hands each complete line to `onLine`. Resolves when the
   * server ends the stream; rejects on a non-200 answer, a dropped connection, or no bytes for
   * `idleTimeoutMs` (a stream that stalls without closing), or when `onLine` throws. A partial
   * last line is dropped.
   * `abort` ends it early (resolving).
   */
  async stream(path: string, onLine: (line: string) => void, idleTimeoutMs: number, abort: AbortSignal): Promise<void> {
    const req = await this.open('GET', path, idleTimeoutMs)
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        req.destroy()
        resolve()
      }
      if (abort.aborted) return onAbort()
      abort.addEventListener('abort', onAbort, { once: true })
      const settle = (error?: Error) => {
        abort.removeEventListener('abort', onAbort)
        if (abort.aborted) return resolve()
        if (error) reject(error)
        else resolve()
      }
      // Silent before its answer, the server is not there; silent after it, the resource is quiet.
      let answered = false
      req.once('timeout', () =>
        req.destroy(
          new KubernetesError(answered ? 'IDLE' : 'TIMEOUT', `watch ${path}: nothing received for ${idleTimeoutMs} ms`),
        ),
      )
      req.once('error', (error) => settle(error instanceof KubernetesError ? error : unreachable(this.server, error)))
      req.once('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) return void collectStatus(res, path).then(settle, settle)
        answered = true
        let partial = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n')
          partial = lines.pop()!
          try {
            for (const line of lines) if (line.trim()) onLine(line)
          } catch (error) {
            // The handler refused a line (garbage, an ERROR event): this stream is over.
            res.removeAllListeners('end')
            req.destroy()
            settle(error as Error)
          }
        })
        res.once('aborted', () =>
          settle(new KubernetesError('UNREACHABLE', `watch ${path}: the connection dropped mid-stream`)),
        )
        res.once('error', (error) =>
          settle(
            error instanceof KubernetesError
              ? error
              : new KubernetesError('UNREACHABLE', `watch ${path}: ${error.message}`, undefined, { cause: error }),
          ),
        )
        res.once('end', () =>
          settle(
            res.complete
              ? undefined
              : new KubernetesError('UNREACHABLE', `watch ${path}: the connection dropped mid-stream`),
          ),
        )
      })
      req.end()
    })
  }

  private async open(method: string, path: string, timeoutMs: number): Promise<ClientRequest> {
    const url = new URL(this.server + path)
    const options: RequestOptions = { method, headers: { accept: 'application/json' }, timeout: timeoutMs }
    await this.config.applyToHTTPSOptions(options)
    if (url.protocol === 'http:') return httpRequest(url, { method, headers: options.headers, timeout: timeoutMs })
    return httpsRequest(url, options)
  }
}

function unreachable(server: string, error: Error): KubernetesError {
  return new KubernetesError(
    'UNREACHABLE',
    `cannot reach the Kubernetes API at ${server}: ${error.message}`,
    undefined,
    { cause: error },
  )
}

/** A failed answer's Status message, as an error: 410 is GONE, anything else HTTP_STATUS. */
async function collectStatus(res: IncomingMessage, path: string): Promise<never> {
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  let message = Buffer.concat(chunks).toString('utf8').slice(0, 500)
  try {
    message = (JSON.parse(message) as { message?: string }).message ?? message
  } catch {
    /* not a Status: keep the text */
  }
  throw statusError(res.statusCode ?? 0, `${path}: HTTP ${res.statusCode}: ${message}`)
}
