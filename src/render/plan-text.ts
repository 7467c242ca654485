import type { ClusterPlan } from '../domain/plan.js';

/**
 * A cluster plan as plain text for `clusterbot templates render`: what each node gets (address,
 * ports, command, environment, every rendered file), so a template author sees it before any
 * container exists.
 */
export function planText(plan: ClusterPlan): string {
  const out: string[] = [
    `${plan.template} size ${plan.size}: ${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'} in ${plan.network.cidr} (domain ${plan.domain})`,
    `start order: ${plan.waves.map((w) => w.join(' + ')).join(' → ')}`,
  ];
  for (const n of plan.nodes) {
    out.push(
      '',
      `== ${n.hostname}  role ${n.role}  ip ${n.ip}  fqdn ${n.fqdn}  image ${n.image}  ${n.resources.cpus} cpu ${n.resources.memoryMiB} MiB`,
    );
    for (const p of n.ports)
      out.push(`  port ${p.name} ${p.port}${p.publish ? ' published' : ''}${p.label ? `  (${p.label})` : ''}`);
    for (const v of n.volumes) out.push(`  volume ${v.name} → ${v.path}`);
    if (n.command) out.push(`  command ${JSON.stringify(n.command)}`);
    if (n.user) out.push(`  user ${n.user}`);
    for (const [k, v] of Object.entries(n.env)) out.push(`  env ${k}=${v}`);
    if (n.readiness) out.push(`  readiness ${JSON.stringify(n.readiness.exec)}`);
    for (const c of n.collect) out.push(`  collect ${c.name} ${JSON.stringify(c.exec)}`);
    for (const f of n.files) {
      out.push(`  --- file ${f.path}`);
      out.push(
        ...f.content
          .replace(/\n$/, '')
          .split('\n')
          .map((line) => `  | ${line}`),
      );
    }
  }
  for (const s of plan.smoke)
    out.push(
      '',
      `smoke "${s.name}" on ${s.role}: ${JSON.stringify(s.exec)}${s.expect !== undefined ? ` expect /${s.expect}/` : ''}`,
    );
  return `${out.join('\n')}\n`;
}
