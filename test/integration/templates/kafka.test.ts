import { describe, expect, it } from 'vitest';
import { docker, runOnce } from '../../support/docker.js';
import { useRealCluster } from '../../support/real-cluster.js';

/** Runs a command in a throwaway container on the host's network: a Kafka client outside the cluster network. */
async function onHostNetwork(image: string, cmd: string): Promise<{ exitCode: number; output: string }> {
  return runOnce({
    Image: image,
    Cmd: ['bash', '-c', cmd],
    HostConfig: { NetworkMode: 'host' },
    Labels: { 'clusterbot.test': 'kafka-client' },
  });
}

describe('kafka 3: real KRaft brokers, reachable inside the network and from the host', () => {
  const real = useRealCluster('kafka', 3);

  it('became ready with a topic replicated 3 times', async () => {
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready && 'smoke' in ready && ready.smoke.map((s) => [s.name, s.ok])).toEqual([['replicated topic', true]]);
    const r = await real().exec(
      'kafka-1',
      'kafka-topics --bootstrap-server kafka-1:9092 --create --topic it-inside --partitions 3 --replication-factor 3 2>&1 && kafka-topics --bootstrap-server kafka-1:9092 --describe --topic it-inside 2>/dev/null',
    );
    expect(r.output).toMatch(/ReplicationFactor: *3/);
    expect(r.output.match(/Isr: \d,\d,\d/g)).toHaveLength(3);
  }, 180_000);

  it('produces 1,000 messages on one broker and consumes all of them from another, inside the network', async () => {
    const produce = await real().exec(
      'kafka-1',
      'seq 1 1000 | kafka-console-producer --bootstrap-server kafka-1:9092 --topic it-inside 2>&1',
    );
    expect(produce.exitCode).toBe(0);
    const consume = await real().exec(
      'kafka-3',
      'kafka-console-consumer --bootstrap-server kafka-3:9092 --topic it-inside --from-beginning --max-messages 1000 --timeout-ms 60000 2>/dev/null | sort -n | uniq | wc -l',
    );
    expect(consume.output.trim()).toBe('1000');
  }, 240_000);

  it('produces and consumes 1,000 messages through the published listener from the host', async () => {
    const info = await docker.getContainer(real().containerId('kafka-1')).inspect();
    const [p1, p2] = [real().publishedPort('kafka-1', 9094), real().publishedPort('kafka-2', 9094)];
    const produce = await onHostNetwork(
      info.Image,
      `seq 1001 2000 | kafka-console-producer --bootstrap-server 127.0.0.1:${p1} --topic it-outside 2>&1`,
    );
    expect(produce.exitCode).toBe(0);
    const consume = await onHostNetwork(
      info.Image,
      `kafka-console-consumer --bootstrap-server 127.0.0.1:${p2} --topic it-outside --from-beginning --max-messages 1000 --timeout-ms 60000 2>/dev/null | sort -n | uniq | wc -l`,
    );
    expect(consume.output.trim()).toBe('1000');
    // The same messages are visible to clients inside the network.
    const inside = await real().exec(
      'kafka-2',
      'kafka-console-consumer --bootstrap-server kafka-2:9092 --topic it-outside --from-beginning --max-messages 1000 --timeout-ms 60000 2>/dev/null | head -1',
    );
    expect(inside.output.trim()).toBe('1001');
  }, 300_000);

  it('formats a node whose cluster id starts with "-" (one id in 64 does), with the image the cluster runs', async () => {
    // Kafka's cluster id is the cluster's id in URL-safe base64: "-" is one of its 64 first characters. Passed as
    // `-t ID`, the format step took it for an option and the node never started.
    const info = await docker.getContainer(real().containerId('kafka-1')).inspect();
    const r = await runOnce({
      Image: info.Image,
      Env: [
        'KAFKA_NODE_ID=1',
        'KAFKA_CONTROLLER_QUORUM_VOTERS=1@localhost:9093',
        'KAFKA_CLUSTER_ID=-RpcM8EKQiaxrgAc-XHv7Q',
        'KAFKA_LOG_DIRS=/tmp/kafka-log',
      ],
      // kafka-node formats without kafka-storage's JVM when it can (one log dir, a static quorum): the server must
      // then start on what it wrote, and kafka-storage itself must read it back.
      Cmd: [
        'bash',
        '-c',
        'kafka-node >/tmp/node.log 2>&1 & for i in $(seq 900); do cb-probe kafka && break; sleep 0.1; done; cat /tmp/kafka-log/meta.properties; kafka-storage info --config /data/kafka-config/server.properties 2>&1; grep -c "kafka-node: formatted" /tmp/node.log; kill %1',
      ],
      Labels: { 'clusterbot.test': 'kafka-format' },
    });
    expect(r.output).toMatch(/^cluster\.id=-RpcM8EKQiaxrgAc-XHv7Q$/m);
    expect(r.output).toMatch(/^directory\.id=[A-Za-z0-9_][A-Za-z0-9_-]{21}$/m);
    expect(r.output).toMatch(
      /Found metadata: \{cluster\.id=-RpcM8EKQiaxrgAc-XHv7Q, directory\.id=[A-Za-z0-9_-]{22}, node\.id=1, version=1\}/,
    );
    expect(r.output.trim().split('\n').at(-1)).toBe('1'); // the JVM-less format ran
  }, 120_000);
});
