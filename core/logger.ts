import { pino, type Logger } from 'pino'

/**
 * Structured logs: JSON lines by default (what log shippers want), human-readable when stdout
 * is a terminal. LOG_FORMAT=json|pretty and LOG_LEVEL override.
 */
export function createLogger(name = 'kubestream', level = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : process.stdout.isTTY === true
  return pino({
    name,
    level,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
  })
}

export type { Logger }
