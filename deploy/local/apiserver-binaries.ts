import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { goBuild, requiredVersion, toolCacheDir } from './go-build.js'

/**
 * The wrapper module that pins kube-apiserver and etcd: `k8s.io/kubernetes` cannot be built as a
 * dependency on its own (its go.mod replaces the staging modules with local paths), so the
 * wrapper replaces each of them with its published v0.x release and lists both mains as tools.
 */
const WRAPPER = join(dirname(fileURLToPath(import.meta.url)), 'apiserver')

export interface ApiServerBinaries {
  readonly kubeApiServer: string
  readonly etcd: string
  /** Versions as the wrapper's go.mod pins them, e.g. `v1.37.1` and `v3.7.0`. */
  readonly kubernetesVersion: string
  readonly etcdVersion: string
}

/** Kubernetes' and etcd's versions from the wrapper's go.mod. */
export function pinnedVersions(): { kubernetes: string; etcd: string } {
  const goModFile = join(WRAPPER, 'go.mod')
  const goMod = readFileSync(goModFile, 'utf8')
  const version = (module: string) => requiredVersion(goMod, goModFile, module)
  return { kubernetes: version('k8s.io/kubernetes'), etcd: version('go.etcd.io/etcd/server/v3') }
}

/**
 * Builds kube-apiserver and etcd from their Go modules (through the module proxy) into a cache
 * outside the repo, once per pinned version: the first run on a fresh machine takes minutes
 * (250 to 630 s measured on 2 cores, downloads included), later runs nothing. The binaries
 * are built to a temporary name and renamed last, so an interrupted build is built again.
 */
export async function ensureApiServerBinaries(log: (line: string) => void = console.log): Promise<ApiServerBinaries> {
  const { kubernetes, etcd } = pinnedVersions()
  const dir = join(toolCacheDir(), `kube-apiserver-${kubernetes}-etcd-${etcd}`)
  const binaries = {
    kubeApiServer: join(dir, 'kube-apiserver'),
    etcd: join(dir, 'etcd'),
    kubernetesVersion: kubernetes,
    etcdVersion: etcd,
  }
  if (existsSync(binaries.kubeApiServer) && existsSync(binaries.etcd)) return binaries
  const started = Date.now()
  log(
    `building kube-apiserver ${kubernetes} and etcd ${etcd} from Go modules into ${dir} (first run only; minutes ` +
      `on 2 cores)…`,
  )
  const [major, minor] = kubernetes.slice(1).split('.')
  // Kubernetes' own build stamps its version; unstamped, the server reports v0.0.0-master and
  // derives its emulated/compatibility version from that.
  const stamp = ['gitVersion', kubernetes, 'gitMajor', major, 'gitMinor', minor, 'gitTreeState', 'clean']
  const versionFlags = Array.from(
    { length: stamp.length / 2 },
    (_, i) => `-X k8s.io/component-base/version.${stamp[2 * i]}=${stamp[2 * i + 1]}`,
  )
  const builds = [
    ['go.etcd.io/etcd/server/v3', binaries.etcd, []],
    ['k8s.io/kubernetes/cmd/kube-apiserver', binaries.kubeApiServer, ['-ldflags', versionFlags.join(' ')]],
  ] as const
  for (const [pkg, target, flags] of builds) await goBuild(WRAPPER, pkg, target, [...flags])
  writeFileSync(join(dir, 'built'), `${new Date().toISOString()} in ${Math.round((Date.now() - started) / 1000)} s\n`)
  log(`built kube-apiserver and etcd in ${Math.round((Date.now() - started) / 1000)} s`)
  return binaries
}
