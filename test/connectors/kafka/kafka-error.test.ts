import Kafka from 'node-rdkafka'
import { describe, expect, it } from 'vitest'
import { transactionError } from '../../../connectors/kafka/kafka-error.js'
import { taskMigrated } from '../../../core/kubestream-error.js'

const { ERRORS } = Kafka.CODES

/** librdkafka's answers to transaction calls, with the flags rd_kafka_error_t carries, and what the runtime does. */
describe('transactionError', () => {
  const cases = [
    [
      'an illegal generation (the group rebalanced)',
      { code: ERRORS.ERR_ILLEGAL_GENERATION, isTxnRequiresAbort: true },
      'TRANSACTION_ABORTABLE',
    ],
    ['an unknown member (the group dropped it)', { code: ERRORS.ERR_UNKNOWN_MEMBER_ID }, 'TRANSACTION_ABORTABLE'],
    ['a rebalance in progress', { code: ERRORS.ERR_REBALANCE_IN_PROGRESS }, 'TRANSACTION_ABORTABLE'],
    ['a fenced static member', { code: ERRORS.ERR_FENCED_INSTANCE_ID }, 'TRANSACTION_ABORTABLE'],
    ['an error requiring an abort', { code: ERRORS.ERR__STATE, isTxnRequiresAbort: true }, 'TRANSACTION_ABORTABLE'],
    ['a producer fenced by a newer one', { code: ERRORS.ERR__FENCED, isFatal: true }, 'PRODUCER_FENCED'],
    ['the broker naming the fence', { code: ERRORS.ERR_PRODUCER_FENCED, isFatal: true }, 'PRODUCER_FENCED'],
    ['another fatal error', { code: ERRORS.ERR__INCONSISTENT, isFatal: true }, 'TRANSACTION'],
    ['an error with no recovery known', { code: ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED }, 'TRANSACTION'],
  ] as const

  for (const [what, flags, code] of cases) {
    it(`makes ${what} ${code}`, () => {
      const error = transactionError('send offsets to', { message: 'Broker: …', ...flags })
      expect(error.code).toBe(code)
      expect(taskMigrated(error)).toBe(code === 'TRANSACTION_ABORTABLE')
      expect(error.message).toMatch(/^cannot send offsets to the transaction: Broker: …/)
    })
  }

  it('says why a fenced producer stops', () => {
    const error = transactionError('commit', { code: ERRORS.ERR__FENCED, message: 'fenced', isFatal: true })
    expect(error.recovery).toBe('stop')
    expect(error.message).toMatch(/another process took over this replica's transactional.id/)
  })
})
