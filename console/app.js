// The topology page: draws the graph kubestream laid out (/api/topology) once, then refreshes
// its figures from /api/status every REFRESH_MS, and asks the stores (/stores) from the form.
// Served by the replica itself, with nothing from elsewhere, so it works without a network.

const REFRESH_MS = 1000
const SVG = 'http://www.w3.org/2000/svg'
const numbers = new Intl.NumberFormat('en', { maximumFractionDigits: 1 })

/** Node id → its figure text element; and the previous refresh's totals, for rates. */
const figures = new Map()
let previous

const $ = (selector) => document.querySelector(selector)

function svg(name, attributes, parent) {
  const element = document.createElementNS(SVG, name)
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value))
  parent?.appendChild(element)
  return element
}

function drawGraph(layout) {
  const graph = $('#graph')
  graph.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`)
  graph.style.maxHeight = `${Math.max(240, layout.height)}px`
  const defs = svg('defs', {}, graph)
  const marker = svg(
    'marker',
    { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
    defs,
  )
  svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8a94a6' }, marker)
  for (const edge of layout.edges) {
    const d = edge.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' ')
    svg(
      'path',
      { d, class: `edge ${edge.kind}`, 'marker-end': 'url(#arrow)', 'data-from': edge.from, 'data-to': edge.to },
      graph,
    )
  }
  for (const node of layout.nodes) {
    const group = svg('g', { class: `node ${node.kind}`, 'data-node-id': node.id, 'data-kind': node.kind }, graph)
    svg('title', {}, group).textContent = node.detail
    const left = node.x - node.width / 2
    const top = node.y - node.height / 2
    svg('rect', { x: left, y: top, width: node.width, height: node.height, rx: node.kind === 'store' ? 14 : 4 }, group)
    svg('text', { x: left + 10, y: top + 20, class: 'name' }, group).textContent = node.name
    const figure = svg('text', { x: left + 10, y: top + 39, class: 'figure' }, group)
    figure.textContent = node.kind === 'table' ? 'global table' : '…'
    figures.set(node.id, figure)
  }
}

function showFigures(status, layout) {
  const seconds = previous ? (status.time - previous.time) / 1000 : 0
  for (const node of layout.nodes) {
    const total = status.nodes[node.id]
    const figure = figures.get(node.id)
    if (total === undefined || !figure) continue
    figure.dataset.total = String(total)
    if (node.kind === 'store') {
      figure.textContent = `${numbers.format(total)} entries`
      continue
    }
    const before = previous?.nodes[node.id]
    const rate = seconds > 0 && before !== undefined ? Math.max(0, total - before) / seconds : 0
    figure.dataset.rate = String(rate)
    figure.textContent = `${numbers.format(total)} · ${numbers.format(rate)}/s`
  }
}

function showThread(thread) {
  const rows = [
    ['processed', numbers.format(thread.processTotal), 'process-total'],
    ['process rate', `${numbers.format(thread.processRate)}/s`, 'process-rate'],
    ['commits', numbers.format(thread.commitTotal), 'commit-total'],
    ['commit rate', `${numbers.format(thread.commitRate)}/s`, 'commit-rate'],
    [
      'commit latency',
      `${numbers.format(thread.commitLatencyAvg)} ms avg, ${numbers.format(thread.commitLatencyMax)} ms max`,
      'commit-latency',
    ],
  ]
  const list = $('#thread')
  list.replaceChildren()
  const raw = {
    'process-total': thread.processTotal,
    'process-rate': thread.processRate,
    'commit-total': thread.commitTotal,
    'commit-rate': thread.commitRate,
    'commit-latency': thread.commitLatencyAvg,
  }
  for (const [label, text, name] of rows) {
    const term = document.createElement('dt')
    term.textContent = label
    const value = document.createElement('dd')
    value.textContent = text
    value.dataset.metric = name
    value.dataset.value = String(raw[name])
    list.append(term, value)
  }
}

function fillTable(selector, rows) {
  const body = $(`${selector} tbody`)
  body.replaceChildren(
    ...rows.map((cells) => {
      const row = document.createElement('tr')
      for (const cell of cells) {
        const td = document.createElement('td')
        td.textContent = cell === undefined ? '–' : String(cell)
        row.append(td)
      }
      return row
    }),
  )
}

function showStatus(status, layout) {
  $('#application').textContent = status.applicationId
  $('#instance').textContent = status.instance
  const state = $('#state')
  state.textContent = status.ready ? status.state : `${status.state} (restoring)`
  state.className = `badge ${status.state === 'RUNNING' && status.ready ? 'ok' : status.state === 'ERROR' ? 'bad' : ''}`
  $('#updated').textContent = `updated ${new Date(status.time).toLocaleTimeString()}`
  $('#updated').dataset.time = String(status.time)
  showFigures(status, layout)
  showThread(status.thread)
  fillTable(
    '#tasks',
    status.tasks.map((t) => [t.id, t.state, t.inputs.join(', ')]),
  )
  fillTable(
    '#partitions',
    status.partitions.map((p) => [`${p.topic}-${p.partition}`, p.position, p.end, p.lag]),
  )
  fillTable(
    '#dead-letters',
    status.deadLetters.counts.map((d) => [d.step, d.code, d.count]),
  )
  $('#dead-letter-reasons').replaceChildren(
    ...status.deadLetters.latest.map((d) => {
      const item = document.createElement('li')
      item.textContent = `${new Date(d.time).toLocaleTimeString()} ${d.step} ${d.code}: ${d.reason}`
      return item
    }),
  )
  previous = status
}

async function getJson(path) {
  const response = await fetch(path)
  return { status: response.status, body: await response.json() }
}

async function refresh(layout) {
  try {
    const { body } = await getJson('/api/status')
    showStatus(body, layout)
  } catch (error) {
    $('#state').textContent = `unreachable: ${error.message}`
    $('#state').className = 'badge bad'
  } finally {
    setTimeout(() => refresh(layout), REFRESH_MS)
  }
}

/** Which question a store answers for a key: by its type; without a key, a page of its range. */
function queryPath(store, key, from, to, standby) {
  const params = new URLSearchParams()
  const kind = key === '' ? 'range' : { keyValue: 'value', window: 'windows', session: 'sessions' }[store.type]
  if (key !== '') params.set('key', key)
  if (from !== '') params.set('from', from)
  if (to !== '') params.set('to', to)
  if (standby) params.set('standby', 'ok')
  return `/stores/${encodeURIComponent(store.name)}/${kind}?${params}`
}

async function setUpQueries() {
  const form = $('#query')
  const answer = $('#query-answer')
  const { status, body } = await getJson('/stores')
  if (status !== 200) {
    form.hidden = true
    answer.textContent = body.error
    return
  }
  const stores = new Map(body.stores.map((store) => [store.name, store]))
  $('#query-store').replaceChildren(
    ...body.stores.map((store) => {
      const option = document.createElement('option')
      option.value = store.name
      option.textContent = `${store.name} (${store.type})`
      return option
    }),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const store = stores.get($('#query-store').value)
    const path = queryPath(
      store,
      $('#query-key').value,
      $('#query-from').value,
      $('#query-to').value,
      $('#query-standby').checked,
    )
    answer.textContent = '…'
    const result = await getJson(path)
    answer.className = result.status === 200 ? '' : 'muted'
    answer.textContent = `${result.status} ${path}\n${JSON.stringify(result.body, null, 2)}`
    answer.dataset.status = String(result.status)
  })
}

const { body: layout } = await getJson('/api/topology')
drawGraph(layout)
await setUpQueries()
await refresh(layout)
