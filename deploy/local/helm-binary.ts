import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { goBuild, requiredVersion, toolCacheDir } from './go-build.js'

/** The wrapper module that pins Helm (helm.sh/helm/v3) with its go.sum. */
const WRAPPER = join(dirname(fileURLToPath(import.meta.url)), 'helm')

/**
 * Builds the `helm` command from its Go module into the tool cache, once per pinned version
 * (about 2 minutes on 2 cores, downloads included), and returns its path.
 */
export async function ensureHelm(log: (line: string) => void = console.log): Promise<string> {
  const goModFile = join(WRAPPER, 'go.mod')
  const version = requiredVersion(readFileSync(goModFile, 'utf8'), goModFile, 'helm.sh/helm/v3')
  const helm = join(toolCacheDir(), `helm-${version}`, 'helm')
  if (existsSync(helm)) return helm
  const started = Date.now()
  log(`building helm ${version} from its Go module into ${dirname(helm)} (first run only)…`)
  // Helm's own build stamps its version; unstamped, `helm version` says v3.x-unreleased.
  await goBuild(WRAPPER, 'helm.sh/helm/v3/cmd/helm', helm, [
    '-ldflags',
    `-X helm.sh/helm/v3/internal/version.version=${version}`,
  ])
  log(`built helm in ${Math.round((Date.now() - started) / 1000)} s`)
  return helm
}
