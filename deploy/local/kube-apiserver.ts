import { type ChildProcess, spawn } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApiServerBinaries, ensureApiServerBinaries } from './apiserver-binaries.js'
import { freePort, sleep, stopProcess } from './local-process.js'

/** The identities the local apiserver knows (static tokens). */
export type LocalUser = 'admin' | 'kubestream'

/** A kube-apiserver and its etcd on loopback, objects only: no controllers, no kubelet. */
export interface LocalApiServer {
  /** https://127.0.0.1:<port> (a self-signed serving certificate). */
  readonly url: string
  readonly kubernetesVersion: string
  readonly etcdVersion: string
  /**
   * A kubeconfig file for a user: `admin` is in system:masters; `kubestream` is the service account
   * `kubestream/kubestream`, with only what RBAC grants it.
   */
  kubeconfig(user?: LocalUser): string
  /** Stops the apiserver (etcd keeps the data), waits `downMs`, starts it again on the same port. */
  restart(downMs?: number): Promise<void>
  stop(): Promise<void>
}

/** The service account the `kubestream` token authenticates as (the tests bind the Helm chart's RBAC to it). */
export const KUBESTREAM_SERVICE_ACCOUNT = { namespace: 'kubestream', name: 'kubestream' }

/**
 * Builds (first run) or reuses the cached binaries, starts etcd and kube-apiserver in a temp dir
 * on free loopback ports with static bearer tokens and RBAC, and resolves once /readyz answers.
 * Their logs are in `<dir>/etcd.log` and `<dir>/kube-apiserver.log`.
 */
export async function startLocalApiServer(options: { startTimeoutMs?: number } = {}): Promise<LocalApiServer> {
  const binaries = await ensureApiServerBinaries()
  const dir = mkdtempSync(join(tmpdir(), 'kubestream-apiserver-'))
  const tokens: Record<LocalUser, string> = {
    admin: randomBytes(16).toString('hex'),
    kubestream: randomBytes(16).toString('hex'),
  }
  writeSecrets(dir, tokens)
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()]
  const timeoutMs = options.startTimeoutMs ?? 120_000
  const etcd = spawnLogged(binaries.etcd, etcdArgs(dir, etcdPort, peerPort), join(dir, 'etcd.log'))
  let apiServer: ChildProcess | undefined
  const url = `https://127.0.0.1:${apiPort}`
  const start = async () => {
    apiServer = spawnLogged(
      binaries.kubeApiServer,
      apiServerArgs(dir, etcdPort, apiPort),
      join(dir, 'kube-apiserver.log'),
    )
    await waitUntilReady(apiServer, url, tokens.admin, timeoutMs, dir)
  }
  const killAll = () => {
    apiServer?.kill('SIGKILL')
    etcd.kill('SIGKILL')
  }
  process.once('exit', killAll)
  try {
    await start()
  } catch (error) {
    killAll()
    throw error
  }
  for (const user of Object.keys(tokens) as LocalUser[])
    writeFileSync(join(dir, `kubeconfig-${user}`), kubeconfig(url, user, tokens[user]))
  return {
    url,
    kubernetesVersion: binaries.kubernetesVersion,
    etcdVersion: binaries.etcdVersion,
    kubeconfig: (user = 'admin') => join(dir, `kubeconfig-${user}`),
    async restart(downMs = 0) {
      await stopProcess(apiServer!, 20_000)
      await sleep(downMs)
      await start()
    },
    async stop() {
      process.removeListener('exit', killAll)
      if (apiServer) await stopProcess(apiServer, 20_000)
      await stopProcess(etcd, 20_000)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function writeSecrets(dir: string, tokens: Record<LocalUser, string>): void {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }))
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }))
  const { namespace, name } = KUBESTREAM_SERVICE_ACCOUNT
  writeFileSync(
    join(dir, 'tokens.csv'),
    [
      `${tokens.admin},admin,admin,system:masters`,
      `${tokens.kubestream},system:serviceaccount:${namespace}:${name},kubestream,` +
        `"system:serviceaccounts,system:serviceaccounts:${namespace},system:authenticated"`,
      '',
    ].join('\n'),
  )
}

function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
  const peer = `http://127.0.0.1:${peerPort}`
  return [
    '--name=local',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${clientPort}`,
    `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=local=${peer}`,
    // Test data: durability across a machine crash is not wanted, speed on a shared disk is.
    '--unsafe-no-fsync',
  ]
}

function apiServerArgs(dir: string, etcdPort: number, port: number): string[] {
  mkdirSync(join(dir, 'certs'), { recursive: true })
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    // No controller manager creates the default service accounts that this admission plugin wants.
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    // Loopback cannot be the kubernetes Service's endpoint; nothing here needs that Service.
    '--endpoint-reconciler-type=none',
  ]
}

function spawnLogged(binary: string, args: string[], logFile: string): ChildProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const log = createWriteStream(logFile, { flags: 'a' })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })
  return child
}

async function waitUntilReady(
  child: ChildProcess,
  url: string,
  token: string,
  timeoutMs: number,
  dir: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`kube-apiserver exited during start (code ${child.exitCode}); logs in ${dir}`)
    if (await readyz(url, token)) return
    await sleep(300)
  }
  throw new Error(`kube-apiserver was not ready within ${timeoutMs} ms; logs in ${dir}`)
}

function readyz(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/readyz`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2_000 },
      (res) => {
        res.resume()
        resolve(res.statusCode === 200)
      },
    )
    req.once('error', () => resolve(false))
    req.once('timeout', () => req.destroy())
    req.end()
  })
}

function kubeconfig(server: string, user: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: user, context: { cluster: 'local', user } }],
      'current-context': user,
    },
    null,
    2,
  )
}

/** The parts of a kubeconfig this file wrote that a request needs. */
interface WrittenKubeconfig {
  clusters: Array<{ cluster: { server: string } }>
  users: Array<{ user: { token: string } }>
}

/**
 * A JSON request with the bearer token of a kubeconfig this file wrote, for tests and benches
 * (and for what client-node's typed clients get wrong: they write events.k8s.io MicroTime
 * fields with millisecond precision, which the apiserver refuses). Rejects on a status ≥ 300.
 */
export async function localApiRequest(
  kubeconfig: string,
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any kind of object, read field by field
): Promise<any> {
  const config = JSON.parse(readFileSync(kubeconfig, 'utf8')) as WrittenKubeconfig
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      `${config.clusters[0].cluster.server}${path}`,
      {
        method,
        rejectUnauthorized: false,
        headers: { authorization: `Bearer ${config.users[0].user.token}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = ''
        res
          .setEncoding('utf8')
          .on('data', (chunk: string) => {
            text += chunk
          })
          .once('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.once('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
  if (response.status >= 300) throw new Error(`${method} ${path}: HTTP ${response.status}: ${response.text}`)
  return JSON.parse(response.text)
}

export type { ApiServerBinaries }
