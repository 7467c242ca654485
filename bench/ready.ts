/**
 * Time to a ready cluster, per template and size, on this machine's Docker Engine (no floor; `npm run bench` runs
 * the whole suite, each item next to its floor):
 *   npm run bench:ready -- spark:2 hadoop:2 zookeeper:3 sqoop:1
 *   npm run bench:ready -- solr:3        (SolrCloud: 3 Solr nodes on a 3-server ZooKeeper ensemble)
 * Builds each cluster with the real services (as the template tests do), prints seconds from request to
 * ready (probes and smoke checks passed), then removes it. Timings live here, never in tests.
 */
import { provisionReal } from '../test/support/real-cluster.js';

const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['zookeeper:3', 'spark:2'];
const rows: string[] = [];
for (const target of targets) {
  const [template, sizeText] = target.split(':');
  const size = Number(sizeText ?? 1);
  const started = Date.now();
  const cluster = await provisionReal(template!, size);
  const seconds = (Date.now() - started) / 1000;
  const ready = cluster.notifier.threadMessages.find((m) => m.kind === 'ready');
  const smoke =
    ready && 'smoke' in ready ? ready.smoke.map((s) => `${s.name}:${s.ok ? 'ok' : 'FAILED'}`).join(' ') : '';
  const removeStart = Date.now();
  await cluster.destroy();
  rows.push(
    [
      `${template} ${size}`.padEnd(14),
      `ready in ${seconds.toFixed(1)} s`.padEnd(18),
      `removed in ${((Date.now() - removeStart) / 1000).toFixed(1)} s  ${smoke}`,
    ].join(''),
  );
  console.log(rows.at(-1));
}
