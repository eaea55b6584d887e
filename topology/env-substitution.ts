import { KubestreamError, type Recovery } from '../core/kubestream-error.js'

/**
 * `${VAR}` and `${VAR:-default}` in string values are replaced from the environment at load.
 * Only upper-case names are variables: `${value.event.metadata.namespace}` in a topic template
 * is CEL and left alone. `$${` writes a literal `${`.
 */
const VARIABLE = /\$(\$?)\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g

/** The topology load turns it into a TopologyError (ENV) at the variable's line and column. */
export class MissingVariableError extends KubestreamError<'ENV'> {
  constructor(
    readonly variable: string,
    readonly offset: number,
  ) {
    super('ENV', `environment variable ${variable} is not set and has no default (write \${${variable}:-default})`)
  }

  get recovery(): Recovery {
    return 'stop'
  }
}

export function substituteEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!text.includes('${')) return text
  return text.replace(
    VARIABLE,
    (match, escaped: string, variable: string, fallback: string | undefined, offset: number) => {
      if (escaped) return match.slice(1)
      const value = env[variable]
      if (value !== undefined && value !== '') return value
      if (fallback !== undefined) return fallback
      throw new MissingVariableError(variable, offset)
    },
  )
}
