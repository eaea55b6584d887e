import { describe, expect, it } from 'vitest'
import { decodeToken, encodeToken, parseStoreQuery } from '../../../runtime/queries/store-query.js'

const parse = (url: string) => {
  const { pathname, searchParams } = new URL(url, 'http://replica')
  return parseStoreQuery(pathname, searchParams)
}

describe('parseStoreQuery', () => {
  it('reads each kind of query', () => {
    expect(parse('/stores/by-minute/windows?key=shop%2FBackOff&from=1000&to=2000')).toEqual({
      kind: 'windows',
      store: 'by-minute',
      key: 'shop/BackOff',
      from: 1000,
      to: 2000,
    })
    expect(parse('/stores/by-minute/windows?key=a&from=1970-01-01T00:00:01Z')).toMatchObject({ from: 1000 })
    expect(parse('/stores/totals/value?key=shop')).toEqual({ kind: 'value', store: 'totals', key: 'shop' })
    expect(parse('/stores/totals/owner?key=')).toEqual({ kind: 'owner', store: 'totals', key: '' })
    expect(parse('/stores/totals/range?from=a&limit=5')).toEqual({
      kind: 'range',
      store: 'totals',
      from: 'a',
      to: undefined,
      after: undefined,
      limit: 5,
      partitions: undefined,
    })
    expect(parse('/stores/totals/range')).toMatchObject({ limit: 100 })
  })

  it('continues a range from its token', () => {
    const token = encodeToken({ key: 'shop/BackOff', start: 60_000 })
    expect(parse(`/stores/by-minute/range?after=${token}`)).toMatchObject({
      after: { key: 'shop/BackOff', start: 60_000 },
    })
    expect(decodeToken(encodeToken({ key: 'ünï' }))).toEqual({ key: 'ünï' })
  })

  it('refuses malformed queries with what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['/stores/by-minute', /expected \/stores\/<store>\/<value\|windows\|sessions\|owner\|range>/],
      ['/stores/by-minute/all?key=a', /unknown query "all"/],
      ['/stores/by-minute/windows', /needs a key/],
      [`/stores/by-minute/value?key=${'é'.repeat(1_000)}`, /key is 2000 bytes; keys are at most 1900/],
      ['/stores/by-minute/windows?key=a&from=5&to=5', /from \(5\) must be before to \(5\)/],
      ['/stores/by-minute/windows?key=a&to=soon', /to must be epoch milliseconds or an ISO-8601 time, not "soon"/],
      ['/stores/totals/range?limit=0', /limit must be an integer from 1 to 10000, not "0"/],
      ['/stores/totals/range?limit=10001', /limit must be an integer from 1 to 10000/],
      ['/stores/totals/range?after=%25%25', /is not a continuation token/],
      ['/stores/totals/range?partitions=1,x', /partitions must be a list of partition numbers/],
    ]
    for (const [url, message] of cases) expect(() => parse(url), url).toThrow(message)
  })
})
