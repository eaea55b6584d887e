import { readFileSync } from 'node:fs'
import { KafkaError } from './kafka-error.js'

/**
 * `spec.kafka.security`: how the clients authenticate, in the shapes Strimzi's KafkaUser
 * secrets come in. Secrets are named (a mounted file or an environment variable), never
 * written in the topology; they are read when the clients are created.
 */
export interface KafkaSecurity {
  /** librdkafka's security.protocol; by default SASL_SSL with sasl, else SSL with tls, else PLAINTEXT. */
  protocol?: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'
  tls?: {
    /** PEM CA certificate(s) the brokers' certificates are checked against (Strimzi: the cluster CA's `ca.crt`). */
    caFile?: string
    /** Mutual TLS: the client's PEM certificate and key (Strimzi's `tls` KafkaUser: `user.crt`, `user.key`). */
    certFile?: string
    keyFile?: string
    /** The key's password, if it is encrypted. */
    keyPasswordFile?: string
    keyPasswordEnv?: string
    /** Whether the broker's certificate must name the host connected to (default true). */
    verifyHostname?: boolean
  }
  sasl?: {
    mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'
    /** The user (Strimzi: the KafkaUser's name); or read from a file. */
    username?: string
    usernameFile?: string
    /** The password (Strimzi's `scram-sha-512` KafkaUser: the secret's `password` key). */
    passwordFile?: string
    passwordEnv?: string
  }
}

/** The librdkafka properties for `security`, its secrets read from their files and variables. */
export function securityConfig(security: KafkaSecurity | undefined, env = process.env): Record<string, string> {
  if (!security) return {}
  const { tls, sasl } = security
  const protocol = security.protocol ?? (sasl ? (tls ? 'SASL_SSL' : 'SASL_PLAINTEXT') : tls ? 'SSL' : 'PLAINTEXT')
  const config: Record<string, string> = { 'security.protocol': protocol }
  if (tls) {
    if (tls.caFile) config['ssl.ca.location'] = readable(tls.caFile, 'TLS CA')
    if (tls.certFile) config['ssl.certificate.location'] = readable(tls.certFile, 'TLS client certificate')
    if (tls.keyFile) config['ssl.key.location'] = readable(tls.keyFile, 'TLS client key')
    const keyPassword = secret('TLS key password', tls.keyPasswordFile, tls.keyPasswordEnv, env)
    if (keyPassword !== undefined) config['ssl.key.password'] = keyPassword
    config['ssl.endpoint.identification.algorithm'] = tls.verifyHostname === false ? 'none' : 'https'
  }
  if (sasl) {
    config['sasl.mechanisms'] = sasl.mechanism
    const username = sasl.username ?? secret('SASL username', sasl.usernameFile, undefined, env)
    const password = secret('SASL password', sasl.passwordFile, sasl.passwordEnv, env)
    if (username === undefined || password === undefined)
      throw new KafkaError(
        'CONFIG',
        'spec.kafka.security.sasl needs a username (or usernameFile) and a passwordFile or passwordEnv',
      )
    config['sasl.username'] = username
    config['sasl.password'] = password
  }
  return config
}

/** A file librdkafka will read: checked now, so a missing mount fails at start with its name. */
function readable(file: string, what: string): string {
  read(file, what)
  return file
}

/** A file's text; a failure names the file and its errno, never anything read. */
function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new KafkaError('CONFIG', `cannot read the ${what} file ${file}: ${(error as NodeJS.ErrnoException).code}`)
  }
}

/** A secret's value from its file (a trailing newline dropped) or variable; never put in a message. */
function secret(
  what: string,
  file: string | undefined,
  variable: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (file !== undefined) return read(file, what).replace(/\r?\n$/, '')
  if (variable !== undefined) {
    const value = env[variable]
    if (value === undefined || value === '')
      throw new KafkaError('CONFIG', `the ${what} variable ${variable} is not set`)
    return value
  }
  return undefined
}
