import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'

const CHROMIUM = '/usr/bin/chromium'

/**
 * Debian's Chromium, for the topology page's browser test: installed with apt-get the first
 * time (as root, no questions asked), then found where it is. Throws, saying what to install,
 * where it cannot be installed.
 */
export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM)) return CHROMIUM
  const apt = promisify(execFile)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  try {
    await apt('apt-get', ['update', '-qq'], { env, timeout: 600_000 })
    await apt('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env, timeout: 900_000 })
  } catch (error) {
    throw new Error(
      `cannot install Debian's chromium (apt-get install chromium, as root): ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but ${CHROMIUM} is not there`)
  return CHROMIUM
}

/**
 * Chromium's flags for a headless run on a machine without a network: no sandbox (as root), and
 * none of the background connections that a closed network refuses, many at a time.
 */
export const HEADLESS_CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
