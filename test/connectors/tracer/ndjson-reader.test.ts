import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { NdjsonFileReader, NdjsonSocketReader } from '../../../connectors/tracer/ndjson-reader.js'
import type { TracerDocument, TracerReadError } from '../../../connectors/tracer/tracer-document.js'
import { waitFor } from '../../support/engine-process.js'

const dir = mkdtempSync(join(tmpdir(), 'kubestream-ndjson-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const doc = (n: number) => JSON.stringify({ connections: [{ n }] })
const collect = () => {
  const documents: TracerDocument[] = []
  const errors: TracerReadError[] = []
  return {
    documents,
    errors,
    onDocument: (d: TracerDocument) => documents.push(d),
    onError: (e: TracerReadError) => errors.push(e),
  }
}

it('follows a file of documents, waits for a line to end, and resumes at a committed position', async () => {
  const file = join(dir, 'connections.ndjson')
  writeFileSync(file, `${doc(1)}\n\nnot json\n${doc(2)}\n{"connections": [{"n": 3`)
  const first = collect()
  const reader = new NdjsonFileReader(file, 0, 20)
  reader.start(first.onDocument, first.onError)
  await waitFor('two documents', () => first.documents.length === 2, 5_000, 10)
  expect(first.documents.map((d) => d.connections)).toEqual([[{ n: 1 }], [{ n: 2 }]])
  expect(first.errors.map((e) => e.code)).toEqual(['GARBAGE'])
  appendFileSync(file, `}]}\n${doc(4)}\n`)
  await waitFor('the line finished later', () => first.documents.length === 4, 5_000, 10)
  await reader.stop()
  expect(first.documents.map((d) => d.connections)).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }], [{ n: 4 }]])
  // A restart from the position committed with document 2 reads 3 and 4 again, nothing before.
  const again = collect()
  const resumed = new NdjsonFileReader(file, first.documents[1].position!, 20)
  resumed.start(again.onDocument, again.onError)
  await waitFor('the rest', () => again.documents.length === 2, 5_000, 10)
  await resumed.stop()
  expect(again.documents.map((d) => d.connections)).toEqual([[{ n: 3 }], [{ n: 4 }]])
  expect(again.documents[1].position).toBe(first.documents[3].position)
})

it('reads documents streamed on a unix socket, reconnecting when the tracer goes away', async () => {
  const path = join(dir, 'stream.sock')
  const clients: Socket[] = []
  const server = createServer((socket) => clients.push(socket))
  await new Promise<void>((resolve) => server.listen(path, resolve))
  const seen = collect()
  const reader = new NdjsonSocketReader(path, 200)
  reader.start(seen.onDocument, seen.onError)
  await waitFor('a connection', () => clients.length === 1, 5_000, 10)
  clients[0].write(`${doc(1)}\n{"connections":`)
  clients[0].write(`[{"n": 2}]}\n`)
  await waitFor('two documents', () => seen.documents.length === 2, 5_000, 10)
  clients[0].destroy()
  await waitFor('a new connection', () => clients.length === 2, 5_000, 10)
  clients[1].write(`${doc(3)}\n`)
  await waitFor('the third', () => seen.documents.length === 3, 5_000, 10)
  await reader.stop()
  server.close()
  expect(seen.documents.map((d) => d.connections)).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]])
})
