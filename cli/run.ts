import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { hostname } from 'node:os'
import { createLogger } from '../core/logger.js'
import { startHttpServer } from '../runtime/http-server.js'
import { KubeStream } from '../runtime/kube-stream.js'
import type { IngestMode } from '../runtime/source-ingest.js'
import { loadTopologyFile } from '../topology/load.js'

export interface RunOptions {
  httpPort?: number
  httpHost: string
  /** A file holding the bearer token the HTTP endpoints require (all but the probes). */
  httpTokenFile?: string
  /** Where the other replicas reach this one's queries; default http://<hostname>:<httpPort>. */
  advertisedUrl?: string
  stateDir?: string
  instanceId?: string
  ingest?: IngestMode
  /** A YAML file shaped like spec.kafka whose fields win over the topology's. */
  kafkaConfig?: string
}

/**
 * `kubestream run FILE`: loads (failing before any Kafka client exists), starts, and on
 * SIGTERM/SIGINT stops consuming, flushes, commits and exits 0 — or exits 1 if that takes
 * longer than the topology's shutdownTimeoutMs.
 */
export async function runTopology(file: string, options: RunOptions): Promise<void> {
  const log = createLogger()
  const graph = loadTopologyFile(file, process.env, { kafkaFile: options.kafkaConfig })
  // Read before any client exists: a missing token file fails the start, not the first scrape.
  const token = options.httpTokenFile === undefined ? undefined : readToken(options.httpTokenFile)
  const stream = new KubeStream(graph, {
    logger: log,
    stateDir: options.stateDir,
    instanceId: options.instanceId,
    ingest: options.ingest,
    advertisedUrl:
      options.advertisedUrl ??
      (options.httpPort === undefined ? undefined : `http://${hostname()}:${options.httpPort}`),
    httpToken: token,
  })
  let server: Server | undefined
  if (options.httpPort !== undefined) {
    server = await startHttpServer({ port: options.httpPort, host: options.httpHost, token }, stream)
  }

  let stopping = false
  /** Stops once (a signal and a fault may both ask), exiting 1 if that takes longer than the bound. */
  const stop = (): Promise<void> => {
    stopping = true
    const bound = graph.processing.shutdownTimeoutMs
    setTimeout(() => {
      log.error({ timeoutMs: bound }, 'shutdown did not finish in time')
      process.exit(1)
    }, bound + 1_000).unref()
    return stream.stop(bound)
  }
  const shutdown = (signal: string) => {
    if (stopping) return
    log.info({ signal }, 'shutting down')
    stop().then(
      () => finish(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed')
        finish(1)
      },
    )
  }
  const finish = (code: number) => {
    server?.close()
    process.exitCode = code
    // librdkafka threads may keep the loop alive briefly after disconnect.
    setTimeout(() => process.exit(code), 200).unref()
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))

  await stream.start()
  stream.done.catch(async () => {
    if (stopping) return
    await stop().catch(() => undefined)
    finish(1)
  })
}

/** The token as a Kubernetes Secret mounts it (a trailing newline is not part of it). */
function readToken(file: string): string {
  let token: string
  try {
    token = readFileSync(file, 'utf8').trim()
  } catch (error) {
    throw new Error(`cannot read the HTTP token file ${file}: ${(error as Error).message}`, { cause: error })
  }
  if (token === '') throw new Error(`the HTTP token file ${file} is empty`)
  return token
}
