import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** PEM files of a test CA and the certificates it signed, made with openssl in `dir`. */
export interface TestPki {
  /** The CA certificate: what clients and the broker trust. */
  readonly caFile: string
  /** The broker's key and certificate chain as a PKCS#12 keystore, locked with `brokerKeystorePassword`. */
  readonly brokerKeystore: string
  readonly brokerKeystorePassword: string
  /** A client certificate and its unencrypted key, by common name. */
  client(commonName: string): { certFile: string; keyFile: string; keyPem: string }
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })

/**
 * A CA, a broker certificate for 127.0.0.1 and localhost, and client certificates on demand:
 * what Strimzi's cluster CA and clients CA give a real deployment.
 */
export function makeTestPki(dir: string): TestPki {
  const subject = (cn: string) => `/O=kubestream-tests/CN=${cn}`
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    subject('test-ca'),
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ])
  const sign = (name: string, cn: string, extensions: string) => {
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject(cn),
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ])
    writeFileSync(join(dir, `${name}.ext`), extensions)
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ])
  }
  sign('broker', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n')
  const brokerKeystorePassword = 'broker-keystore-password'
  openssl(dir, [
    'pkcs12',
    '-export',
    '-in',
    'broker.crt',
    '-inkey',
    'broker.key',
    '-certfile',
    'ca.crt',
    '-passout',
    `pass:${brokerKeystorePassword}`,
    '-out',
    'broker.p12',
  ])
  return {
    caFile: join(dir, 'ca.crt'),
    brokerKeystore: join(dir, 'broker.p12'),
    brokerKeystorePassword,
    client(commonName) {
      const name = `client-${commonName}`
      sign(name, commonName, 'extendedKeyUsage=clientAuth\n')
      const keyFile = join(dir, `${name}.key`)
      return { certFile: join(dir, `${name}.crt`), keyFile, keyPem: readFileSync(keyFile, 'utf8') }
    },
  }
}
