/**
 * The speed suite: every item of "faster than by hand", each printed next to its floor measured in the same run.
 *   npm run bench                                   every item, one after the other (memory's 1,000 cycles take hours)
 *   npm run bench -- --only floor,burst,ack         some of them
 *   npm run bench -- --rounds 1 --memory-cycles 200 fewer floor rounds and cycles
 *   npm run bench -- --templates spark:3,solr       other templates for the floor (a template alone: its default size)
 * floor   time to ready of each template next to the same containers made by a plain dockerode script (floor.ts)
 * burst   20 × zookeeper 1 from 20 users at once next to a parallel raw script (burst.ts)
 * ack     bursts of 50 signed commands next to a bare signature-checking server (ack.ts)
 * memory  RSS of the bot + worker process over create/delete cycles of zookeeper 1 (memory.ts)
 * pool    request to card-ready of 20 warm-pool claims of zookeeper 3 and hadoop 2 next to cold creates (pool.ts)
 * Each item runs in its own process, so one's leftovers never weigh on the next; the machine is shared and noisy, so
 * read the ratios. Time to ready alone, without a floor: npm run bench:ready -- spark:2.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

/** The sizes the absolute goals are stated for. */
const GOAL_TEMPLATES = ['zookeeper:3', 'kafka:3', 'spark:3', 'hadoop:2', 'hbase:2', 'hive:1'];
const ITEMS = ['floor', 'burst', 'ack', 'memory', 'pool'] as const;
type Item = (typeof ITEMS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    templates: { type: 'string' },
    'memory-cycles': { type: 'string', default: '1000' },
    trace: { type: 'boolean', default: false },
  },
});
const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...ITEMS];
const unknown = only.filter((i) => !(ITEMS as readonly string[]).includes(i));
if (unknown.length) {
  console.error(`bench: unknown item ${unknown.join(', ')} (items: ${ITEMS.join(', ')})`);
  process.exit(2);
}

const argsOf: Record<Item, string[]> = {
  floor: [
    ...(values.templates ? values.templates.split(',') : GOAL_TEMPLATES),
    '--rounds',
    values.rounds!,
    ...(values.trace ? ['--trace'] : []),
  ],
  burst: ['--clusters', '20', '--rounds', '1'],
  ack: [],
  memory: ['--cycles', values['memory-cycles']!],
  pool: ['--shapes', 'zookeeper:3,hadoop:2', '--claims', '20', '--cold', '3'],
};

const failed: string[] = [];
for (const item of ITEMS.filter((i) => only.includes(i))) {
  console.log(`\n=== bench ${item}: npm run bench:${item} -- ${argsOf[item].join(' ')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${item}.ts`, ...argsOf[item]], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(`${item} (exit ${r.status ?? r.signal})`);
}
if (failed.length) {
  console.error(`\nbench: failed: ${failed.join(', ')}`);
  process.exit(1);
}
