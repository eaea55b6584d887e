/**
 * The layers, lowest first. A folder may import only folders before it in this list: `core/`
 * imports nothing of ours, `runtime/` everything below it. ARCHITECTURE.md explains the order.
 * `test/` may import anything.
 */
const LAYERS = [
  'core',
  'connectors',
  'expression',
  'state',
  'topology',
  'operators',
  'sources',
  'runtime',
  'simulators',
  'index.ts',
  'cli',
  'deploy',
  'bench',
]

const path = (folders) => `^(${folders.map((f) => f.replace('.', '\\.')).join('|')})($|/)`

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle: the files in it cannot be read or tested one at a time.',
      from: {},
      to: { circular: true },
    },
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment:
        `${layer} may import only ${LAYERS.slice(0, i).join(', ') || 'nothing of ours'}: see LAYERS in ` +
        `.dependency-cruiser.cjs`,
      from: { path: path([layer]) },
      to: { path: path([...LAYERS.slice(i + 1), 'test']) },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|scratch)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}
