import { gib } from '../domain/quota.js';
import { bytesText, esc, md, relative, type Message } from './blocks.js';
import type { HostSummary } from '../domain/host.js';

const stateMark = { active: '🟢', draining: '🟡', down: '🔴' } as const;

export const noHostsText = 'No Docker host is registered yet: an admin adds one with `clusterbot hosts add` or DOCKER_HOSTS.';

const cpu = (n: number) => String(Math.round(n * 100) / 100);

/** One Docker host's line: state, reserved CPU and memory against what it has, its clusters (and owners, for admins). */
export function hostLine({ host: h, reservedCpus, reservedMemoryMiB, clusters, owners }: HostSummary, now: Date): string {
  const seen = h.lastSeenAt ? `${h.state === 'down' ? 'not answering since' : 'seen'} ${relative(now, h.lastSeenAt)}` : 'never seen';
  const who = owners.length ? ` (${owners.map((o) => `<@${o}>`).join(', ')})` : '';
  // Free figures are read inside a running node of the host (docker/host-probe.ts): a host with none has none yet.
  const free = [h.memoryFreeBytes != null && `${bytesText(h.memoryFreeBytes)} memory free`, h.diskFreeBytes != null && `disk ${bytesText(h.diskFreeBytes)} free`].filter(Boolean);
  // An admin's cap (`clusterbot hosts limit`) is what clusters may reserve there, so it is the figure shown.
  const cpuTotal = h.maxCpus == null ? `${h.cpus}` : `${cpu(h.maxCpus)} (limit)`;
  const memTotal = h.maxMemoryMiB == null ? `${gib(h.memoryMiB)} GiB` : `${gib(h.maxMemoryMiB)} GiB (limit)`;
  return `${stateMark[h.state]} *${h.name}* · ${h.state}${h.state === 'down' && h.resumeState === 'draining' ? ' (draining when it answers)' : ''} · CPU ${cpu(reservedCpus)}/${cpuTotal} reserved · memory ${gib(reservedMemoryMiB)}/${memTotal}${free.length ? ` · ${free.join(' · ')}` : ''} · ${clusters} cluster${clusters === 1 ? '' : 's'}${who} · ${seen}${h.lastError ? ` · ⚠️ ${esc(h.lastError)}` : ''}`;
}

/** `/cluster hosts`: a line per Docker host, its load and (for admins) whose clusters run there. */
export function renderHosts(hosts: readonly HostSummary[], now: Date): Message {
  if (!hosts.length) {
    const text = noHostsText;
    return { text, blocks: [{ type: 'section', text: md(text) }] };
  }
  const rows = hosts.map((h) => hostLine(h, now));
  const title = `${hosts.length} Docker host${hosts.length === 1 ? '' : 's'}`;
  return { text: `${title}:\n${rows.join('\n')}`, blocks: [{ type: 'section', text: md(`*${title}*\n${rows.join('\n')}`.slice(0, 3000)) }] };
}
