// The import rules of docs/architecture.md ("Dependency rules"), checked by `npm run lint` (depcruise src).
// Paths are relative to the repository root; `$1` in a `to` refers to the group captured by `from`.
// Libraries are matched with their @types/ twin, which is what a type-only import of them resolves to.

/** Adapter folders: each implements ports and may not import another (entrypoints/ wire them together). */
const adapters = 'db|docker|queue|slack|shell|artifacts|http';

/** Node modules that do I/O: domain/ and render/ compute, they never reach the disk, network or processes. */
const nodeIo = [
  'fs', 'fs/promises', 'net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'dns/promises', 'child_process',
  'cluster', 'worker_threads', 'readline', 'repl', 'os', 'inspector', 'v8', 'vm', 'process',
];

/** Libraries that reach a service, the disk or the network. */
const ioLibraries = [
  'dockerode', 'docker-modem', 'bullmq', 'ioredis', 'pg', 'pg-pool', 'drizzle-orm', '@slack/[^/]+', 'undici',
  '@aws-sdk/[^/]+', 'pino', 'prom-client', 'tar-stream',
];

/** Each outside library that talks to a service is imported by one adapter folder (and the composition root). */
const libraryHomes = [
  { name: 'dockerode and docker-modem', modules: 'dockerode|docker-modem', home: 'docker' },
  { name: 'bullmq and ioredis', modules: 'bullmq|ioredis', home: 'queue' },
  { name: 'pg and drizzle', modules: 'pg|pg-pool|drizzle-orm', home: 'db' },
  { name: '@slack', modules: '@slack/[^/]+', home: 'slack' },
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be read, tested or moved alone. Type-only cycles count too.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-stays-inside',
      severity: 'error',
      comment: 'domain/ is the pure core, testable without any service: outside itself it may import errors.ts only.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/(domain/|errors[.]ts$)' },
    },
    {
      name: 'domain-and-render-no-io',
      severity: 'error',
      comment: 'domain/ and render/ do no I/O: no node I/O modules and none of the client libraries.',
      from: { path: '^src/(domain|render)/' },
      to: {
        path: [
          `^(node:)?(${nodeIo.join('|')})$`,
          `^node_modules/(@types/)?(${ioLibraries.join('|')})/`,
        ],
      },
    },
    {
      name: 'render-imports-domain-only',
      severity: 'error',
      comment: 'render/ turns the message types of domain/ into Slack blocks and text; it knows nothing else of src/.',
      from: { path: '^src/render/' },
      to: { path: '^src/', pathNot: '^src/(domain|render)/' },
    },
    {
      name: 'services-use-ports',
      severity: 'error',
      comment:
        'services/ import domain/, errors.ts and their ports (services/ports/*.ts): adapters arrive as a deps ' +
        'argument, so unit tests fake them. log-context.ts is a pure helper over the Log port.',
      from: { path: '^src/services/' },
      to: { path: '^src/', pathNot: '^src/(services/|domain/|errors[.]ts$|log-context[.]ts$)' },
    },
    {
      name: 'adapters-stay-apart',
      severity: 'error',
      comment:
        'An adapter implements ports; importing another adapter couples two outside systems. entrypoints/ wires them.',
      from: { path: `^src/(${adapters})/` },
      to: { path: `^src/(${adapters})/`, pathNot: '^src/$1/' },
    },
    ...libraryHomes.map(({ name, modules, home }) => ({
      name: `${home}-owns-${name.replace(/[^a-z]+/g, '-').replace(/-$/, '')}`,
      severity: 'error',
      comment: `${name} are imported from src/${home}/ only (and entrypoints/, which constructs clients).`,
      from: { path: '^src/', pathNot: `^src/(${home}|entrypoints)/` },
      to: { path: `^node_modules/(@types/)?(${modules})/` },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // A worktree's node_modules is often a symlink to another checkout's: keep the node_modules/… paths the rules
    // match (resolved through the symlink, they would match nothing).
    preserveSymlinks: true,
    // Type-only imports are dependencies too: `import type` across a rule is still coupling.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
