import { describe, expect, it } from 'vitest'
import { sanitizeTopicName } from '../../../connectors/kafka/topic-name.js'

describe('sanitizeTopicName', () => {
  it('rejects names Kafka cannot hold', () => {
    expect(sanitizeTopicName('a b:c')).toBe('a_b_c')
    expect(() => sanitizeTopicName('..')).toThrow(/cannot be a topic name/)
    expect(sanitizeTopicName('x'.repeat(300))).toHaveLength(249)
  })
})
