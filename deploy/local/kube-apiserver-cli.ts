/**
 * `npm run kube:start`: a local kube-apiserver + etcd for development, until Ctrl-C (the first
 * run builds them from Go modules). Prints the KUBECONFIG to export in another shell.
 * `npm run kube:start -- --build-only` builds the cached binaries and exits.
 */
import { ensureApiServerBinaries } from './apiserver-binaries.js'
import { startLocalApiServer } from './kube-apiserver.js'

if (process.argv.includes('--build-only')) {
  const binaries = await ensureApiServerBinaries()
  console.log(
    `kube-apiserver ${binaries.kubernetesVersion}: ${binaries.kubeApiServer}\netcd ${binaries.etcdVersion}: ` +
      `${binaries.etcd}`,
  )
  process.exit(0)
}
const server = await startLocalApiServer()
console.log(`kube-apiserver ${server.kubernetesVersion} (etcd ${server.etcdVersion}) is up at ${server.url}`)
console.log(`export KUBECONFIG=${server.kubeconfig('admin')}`)
const stop = async () => {
  await server.stop()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
