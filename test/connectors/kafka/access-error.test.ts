import Kafka from 'node-rdkafka'
import { describe, expect, it } from 'vitest'
import { accessError } from '../../../connectors/kafka/access-error.js'

const { ERRORS } = Kafka.CODES
const scram = {
  'security.protocol': 'sasl_ssl',
  'sasl.mechanisms': 'SCRAM-SHA-512',
  'sasl.username': 'app',
  'sasl.password': 'secret-Pa55',
  'group.id': 'warning-counts',
  'transactional.id': 'warning-counts-pod-0',
}
const mtls = { 'security.protocol': 'ssl', 'ssl.certificate.location': '/etc/user/user.crt' }

describe('accessError', () => {
  it.each([
    [
      { code: ERRORS.ERR__AUTHENTICATION, message: 'Local: Authentication failure' },
      scram,
      {},
      'AUTHENTICATION',
      /^authentication failed: the brokers refused SCRAM-SHA-512 user "app" over SASL_SSL: /,
    ],
    [{ code: -1, message: 'authentication failure' }, scram, {}, 'AUTHENTICATION', /refused SCRAM-SHA-512 user "app"/],
    [
      { code: ERRORS.ERR__SSL, message: 'SSL handshake failed' },
      mtls,
      {},
      'AUTHENTICATION',
      /refused the client certificate \/etc\/user\/user.crt over SSL/,
    ],
    [
      { code: ERRORS.ERR_GROUP_AUTHORIZATION_FAILED, message: 'Broker: Group authorization failed' },
      scram,
      {},
      'AUTHORIZATION',
      /may not READ group warning-counts \(add an ACL allowing READ on it\)/,
    ],
    [
      { code: -1, message: 'Failed to find transaction coordinator: Broker: Transactional Id authorization failed' },
      scram,
      {},
      'AUTHORIZATION',
      /may not WRITE transactional id warning-counts-pod-0/,
    ],
    [
      { code: -1, message: 'Broker: Topic authorization failed' },
      scram,
      { topic: 'counts', operation: 'WRITE' as const },
      'AUTHORIZATION',
      /may not WRITE topic counts/,
    ],
    [
      {
        code: ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED,
        message: 'Subscribed topic not available: cluster-events: Broker: Topic authorization failed',
      },
      scram,
      { operation: 'READ' as const },
      'AUTHORIZATION',
      /may not READ topic cluster-events/,
    ],
  ])('%o → %s', (error, config, context, code, message) => {
    const refused = accessError(error, { config, ...context })
    expect(refused?.code).toBe(code)
    expect(refused?.recovery).toBe('stop')
    expect(refused?.message).toMatch(message)
    expect(refused?.message).not.toContain('secret-Pa55')
  })

  it('leaves every other error to its caller', () => {
    expect(
      accessError({ code: ERRORS.ERR__TRANSPORT, message: 'Broker: transport failure' }, { config: scram }),
    ).toBeUndefined()
    expect(
      accessError({ code: ERRORS.ERR_UNKNOWN_MEMBER_ID, message: 'Broker: Unknown member' }, { config: scram }),
    ).toBeUndefined()
  })
})
