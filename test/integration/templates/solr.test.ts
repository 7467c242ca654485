import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../support/docker.js';
import { provisionReal, type RealCluster } from '../../support/real-cluster.js';

/** The subnet pool this file's clusters take (one /16 per test file, see the helpers' brief). */
const SUBNET_POOL = '10.248.0.0/16';
const S = 'http://localhost:8983/solr';

/** CLUSTERSTATUS of one collection as "core_nodeN node state" lines (Solr's JSON, read with grep: the image has no jq). */
const replicaStates = (collection: string) =>
  `curl -fsS -m 30 '${S}/admin/collections?action=CLUSTERSTATUS&collection=${collection}&wt=json&indent=false' ` +
  `| grep -o '"core_node[0-9]*":{[^}]*}' | sed -E 's/.*"node_name":"([^"]*)".*"state":"([a-z_]*)".*/\\1 \\2/'`;

describe('solr 3: SolrCloud on its own ZooKeeper ensemble', () => {
  let cluster: RealCluster | undefined;
  const real = () =>
    cluster ??
    (() => {
      throw new Error('solr 3 was not provisioned');
    })();
  beforeAll(async () => {
    cluster = await provisionReal('solr', 3, { subnetPool: SUBNET_POOL });
  }, 900_000);
  afterAll(async () => cluster?.destroy());

  it('became ready after the smoke check, with a 3-server ensemble and the /solr chroot', async () => {
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready && 'smoke' in ready && ready.smoke.map((s) => [s.name, s.ok])).toEqual([
      ['sharded collection round trip', true],
    ]);
    expect(
      real()
        .view.nodes.map((n) => n.hostname)
        .sort(),
    ).toEqual(['solr-1', 'solr-2', 'solr-3', 'zk-1', 'zk-2', 'zk-3']);
    // Solr's state lives under the chroot, not at ZooKeeper's root.
    const zk = await real().exec(
      'solr-1',
      'solr zk ls / -z zk-1:2181 2>/dev/null; echo ---; solr zk ls /solr/live_nodes -z zk-1:2181 2>/dev/null',
    );
    const [root, live] = zk.output.split('---');
    expect(root).toMatch(/^solr$/m);
    expect(root).not.toMatch(/live_nodes/);
    expect(live!.trim().split('\n').sort()).toEqual(['solr-1:8983_solr', 'solr-2:8983_solr', 'solr-3:8983_solr']);
  }, 120_000);

  it('CLUSTERSTATUS lists 3 live nodes', async () => {
    const r = await real().exec(
      'solr-2',
      `curl -fsS -m 30 '${S}/admin/collections?action=CLUSTERSTATUS&wt=json&indent=false' | grep -o '"live_nodes":\\[[^]]*\\]'`,
    );
    expect(r.exitCode).toBe(0);
    expect(r.output.match(/solr-\d:8983_solr/g)?.sort()).toEqual([
      'solr-1:8983_solr',
      'solr-2:8983_solr',
      'solr-3:8983_solr',
    ]);
  }, 60_000);

  it('indexes 1,000 documents into 3 shards through one node and finds them through another', async () => {
    const create = await real().exec(
      'solr-1',
      `curl -fsS -m 120 '${S}/admin/collections?action=CREATE&name=it_docs&numShards=3&replicationFactor=1&waitForFinalState=true&wt=json'`,
    );
    expect(create.exitCode, create.output).toBe(0);
    const states = await real().exec('solr-1', replicaStates('it_docs'));
    const lines = states.output.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(new Set(lines.map((l) => l.split(' ')[0])).size).toBe(3); // one shard on each node
    expect(lines.every((l) => l.endsWith(' active'))).toBe(true);

    const index = await real().exec(
      'solr-1',
      `seq 1 1000 | awk 'BEGIN{printf "["} {printf "%s{\\"id\\":\\"doc-%d\\",\\"n_i\\":%d,\\"parity_s\\":\\"%s\\"}", (NR>1?",":""), $1, $1, ($1%2?"odd":"even")} END{print "]"}' ` +
        `| curl -fsS -m 120 -H 'Content-Type: application/json' --data-binary @- '${S}/it_docs/update?commit=true&wt=json'`,
    );
    expect(index.exitCode, index.output).toBe(0);
    const count = (q: string) =>
      real().exec(
        'solr-3',
        `curl -fsS -m 60 '${S}/it_docs/select?q=${q}&rows=0&wt=json&indent=false' | grep -o '"numFound":[0-9]*'`,
      );
    expect((await count('*:*')).output.trim()).toBe('"numFound":1000');
    expect((await count('parity_s:odd')).output.trim()).toBe('"numFound":500');
    expect((await count('n_i:%5B991%20TO%20*%5D')).output.trim()).toBe('"numFound":10');
    // Each shard holds part of the documents, not all of them: the collection really is split.
    const perShard = await real().exec(
      'solr-3',
      `curl -fsS -m 60 '${S}/it_docs/select?q=*:*&rows=0&distrib=false&wt=json&indent=false' -G --data-urlencode 'shards=shard1' | grep -o '"numFound":[0-9]*'`,
    );
    const shard1 = Number(perShard.output.split(':')[1]);
    expect(shard1).toBeGreaterThan(0);
    expect(shard1).toBeLessThan(1000);
  }, 300_000);

  it('a restarted Solr node rejoins and its replicas come back active', async () => {
    await docker.getContainer(real().containerId('solr-2')).restart({ t: 20 });
    // Bounded wait (up to 3 min) until solr-2 is live again and every replica of it_docs is active.
    const wait = await real().exec(
      'solr-1',
      `for i in $(seq 90); do s=$(${replicaStates('it_docs')}); ` +
        `if grep -q '^solr-2:8983_solr active$' <<<"$s" && ! grep -qv ' active$' <<<"$s"; then echo "$s"; exit 0; fi; sleep 2; done; echo "$s"; exit 1`,
      240_000,
    );
    expect(wait.exitCode, wait.output).toBe(0);
    expect(wait.output.trim().split('\n')).toHaveLength(3);
    const live = await real().exec(
      'solr-1',
      `curl -fsS -m 30 '${S}/admin/collections?action=CLUSTERSTATUS&wt=json&indent=false' | grep -o '"live_nodes":\\[[^]]*\\]'`,
    );
    expect(live.output.match(/solr-\d:8983_solr/g)).toHaveLength(3);
    // The documents on the restarted node's shard are all still there.
    const count = await real().exec(
      'solr-2',
      `curl -fsS -m 60 '${S}/it_docs/select?q=*:*&rows=0&wt=json&indent=false' | grep -o '"numFound":[0-9]*'`,
    );
    expect(count.output.trim()).toBe('"numFound":1000');
  }, 300_000);
});
