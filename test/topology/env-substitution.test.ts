import { describe, expect, it } from 'vitest'
import { MissingVariableError, substituteEnv } from '../../topology/env-substitution.js'

describe('substituteEnv', () => {
  const env = { BROKERS: 'kafka:9092', EMPTY: '' }

  it('replaces upper-case variables and applies defaults', () => {
    expect(substituteEnv('${BROKERS}', env)).toBe('kafka:9092')
    expect(substituteEnv('${MISSING:-local:9092}', env)).toBe('local:9092')
    expect(substituteEnv('${EMPTY:-fallback}', env)).toBe('fallback')
    expect(substituteEnv('a-${BROKERS}-b-${MISSING:-}', env)).toBe('a-kafka:9092-b-')
  })

  it('leaves CEL templates (lower-case) alone and unescapes $${', () => {
    expect(substituteEnv('events.${value.event.metadata.namespace}', env)).toBe(
      'events.${value.event.metadata.namespace}',
    )
    expect(substituteEnv('$${BROKERS}', env)).toBe('${BROKERS}')
  })

  it('names the missing variable and where it is', () => {
    expect(() => substituteEnv('topic-${NOPE}', env)).toThrow(MissingVariableError)
    try {
      substituteEnv('topic-${NOPE}', env)
    } catch (error) {
      expect((error as MissingVariableError).variable).toBe('NOPE')
      expect((error as MissingVariableError).offset).toBe(6)
    }
  })
})
