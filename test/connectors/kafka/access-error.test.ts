import Kafka from 'node-rdkafka'
import { describe, expect, it } from 'vitest'
import { accessError, accessErrorInLog, describeRefused } from '../../../connectors/kafka/access-error.js'

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
    [
      { code: ERRORS.ERR_CLUSTER_AUTHORIZATION_FAILED, message: 'Broker: Cluster authorization failed' },
      scram,
      {},
      'AUTHORIZATION',
      /may not IDEMPOTENT_WRITE on the cluster \(add an ACL allowing IDEMPOTENT_WRITE on it\)/,
    ],
    [
      { code: -1, message: 'Broker: Cluster authorization failed' },
      scram,
      { operation: 'CREATE' as const },
      'AUTHORIZATION',
      /may not CREATE topics on the cluster \(add an ACL allowing CREATE topics on it\)/,
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

describe('accessErrorInLog', () => {
  const addParts = (partition: string) =>
    `TxnCoordinator/1: Failed to add partition "${partition}" [3] to transaction: Broker: Topic authorization failed`

  it('names the topic a transaction could not add, and WRITE', () => {
    const error = accessErrorInLog({ severity: 3, fac: 'ADDPARTS', message: addParts('counts.v1') }, scram)
    expect(error).toMatchObject({ code: 'AUTHORIZATION' })
    expect(error!.message).toBe(
      'authorization failed: SCRAM-SHA-512 user "app" over SASL_SSL may not WRITE topic counts.v1 ' +
        '(add an ACL allowing WRITE on it): Broker: Topic authorization failed',
    )
  })

  it('ignores other lines, and debug-level ones', () => {
    expect(accessErrorInLog({ severity: 7, fac: 'ADDPARTS', message: addParts('t') }, scram)).toBeUndefined()
    const other = 'TxnCoordinator/1: Failed to add partition "t" [0] to transaction: Broker: Not coordinator'
    expect(accessErrorInLog({ severity: 3, fac: 'ADDPARTS', message: other }, scram)).toBeUndefined()
  })
})

describe('describeRefused', () => {
  it('names DESCRIBE and every topic the brokers would not describe', () => {
    expect(describeRefused(['events.a', 'events.b'], scram).message).toMatch(
      /may not DESCRIBE one of topics events\.a, events\.b \(add an ACL allowing DESCRIBE on it\)/,
    )
  })
})
