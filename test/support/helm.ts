import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { parseAllDocuments } from 'yaml'
import { ensureHelm } from '../../deploy/local/helm-binary.js'

const run = promisify(execFile)
export const CHART = 'deploy/helm/kubestream'

/** A rendered object, loosely typed: tests read whatever fields they check. */
export interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  spec?: any
  data?: Record<string, string>
  rules?: any[]
  subjects?: any[]
  roleRef?: any
  automountServiceAccountToken?: boolean
}

export interface Release {
  name: string
  namespace: string
  /** `--set-file key=path`: topology.text from a file, as a user installs an example. */
  files?: Record<string, string>
  /** `--set-json key=value`. */
  values?: Record<string, unknown>
}

/** Runs the helm built from its Go module (test/support/global-setup.ts builds it once). */
export async function helm(...args: string[]): Promise<string> {
  const binary = await ensureHelm()
  const { stdout } = await run(binary, args, { maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: Error & { stderr?: string; stdout?: string }) => {
      throw new Error(`helm ${args.join(' ')}: ${error.stderr || error.message}\n${error.stdout ?? ''}`)
    },
  )
  return stdout
}

function valueArgs(release: Omit<Release, 'name' | 'namespace'>): string[] {
  return [
    ...Object.entries(release.files ?? {}).flatMap(([key, path]) => ['--set-file', `${key}=${path}`]),
    ...Object.entries(release.values ?? {}).flatMap(([key, value]) => [
      '--set-json',
      `${key}=${JSON.stringify(value)}`,
    ]),
  ]
}

/** `helm template`: the release's manifests as YAML text. */
export function renderChart(release: Release): Promise<string> {
  return helm('template', release.name, CHART, '--namespace', release.namespace, ...valueArgs(release))
}

/** `helm lint --strict` of the chart with a release's values: resolves with its output, rejects on a failure. */
export function lintChart(release: Omit<Release, 'name' | 'namespace'>): Promise<string> {
  return helm('lint', '--strict', CHART, ...valueArgs(release))
}

export function manifestsOf(yamlText: string): Manifest[] {
  return parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null)
}
