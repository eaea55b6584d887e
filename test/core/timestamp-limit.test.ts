import { expect, it } from 'vitest'
import { checkTimestampAhead, MAX_TIMESTAMP_AHEAD_MS } from '../../core/timestamp-limit.js'

it("refuses a timestamp further ahead than brokers accept, as the record's TIMESTAMP error", () => {
  const now = Date.parse('2026-12-02T06:00:00Z')
  expect(() => checkTimestampAhead(now + MAX_TIMESTAMP_AHEAD_MS, now)).not.toThrow()
  expect(() => checkTimestampAhead(now - 365 * 86_400_000, now)).not.toThrow()
  expect(() => checkTimestampAhead(now + 3 * MAX_TIMESTAMP_AHEAD_MS, now)).toThrow(
    expect.objectContaining({
      code: 'TIMESTAMP',
      message: expect.stringMatching(/^timestamp 2026-12-02T09:00:00.000Z is 180 min ahead of this replica's clock/),
    }),
  )
})
