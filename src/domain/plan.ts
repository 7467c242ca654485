import Mustache from 'mustache';
import { renderConfigFile } from './config-file.js';
import { label } from './labels.js';
import type { Subnet } from './subnet.js';
import {
  roleCount,
  roleScales,
  roleStartOrder,
  type Template,
  type TemplateCollect,
  type TemplateProbe,
  type TemplateSmoke,
} from './template.js';

/**
 * Turns a template and a size into the exact nodes of one cluster: names, addresses, rendered
 * config files. Pure and deterministic: re-planning after a crash gives the same names, so the
 * runtime can converge on what already exists instead of creating duplicates.
 */

export interface PlannedPort {
  name: string;
  port: number;
  publish: boolean;
  /** A web UI, reached through clusterbot's proxy and never published. */
  ui: boolean;
  label?: string;
  url: string;
  internalUrl?: string;
}

export interface PlannedNode {
  role: string;
  /** 1-based within the role. */
  index: number;
  /** 0-based over the whole cluster; also the node label. */
  ordinal: number;
  hostname: string;
  fqdn: string;
  ip: string;
  containerName: string;
  image: string;
  command?: string[];
  env: Record<string, string>;
  user?: string;
  files: { path: string; content: string }[];
  ports: PlannedPort[];
  volumes: { name: string; path: string; volumeName: string }[];
  resources: { cpus: number; memoryMiB: number };
  labels: Record<string, string>;
  /** Hardening the role declares (see domain/container-spec.ts). */
  security: { capAdd: string[]; readOnlyRoot: boolean; tmpfs: string[] };
  readiness?: TemplateProbe;
  /** The role's service-state commands for a snapshot, rendered for this node. */
  collect: TemplateCollect[];
  /** What a migration runs in the node before stopping it (the role's `quiesce`), rendered for this node. */
  quiesce: { exec: string[]; timeoutSeconds: number }[];
  /** Directories a snapshot copies from this node: configuration, and the services' own log files. */
  configDirs: string[];
  logDirs: string[];
}

export interface ClusterPlan {
  clusterId: string;
  clusterName: string;
  owner: string;
  template: string;
  size: number;
  domain: string;
  network: { name: string; cidr: string; gateway: string; labels: Record<string, string> };
  nodes: PlannedNode[];
  /** Roles grouped in start order: each wave starts after the previous one is ready. */
  waves: string[][];
  /** Every peer by FQDN and short name, for /etc/hosts (Docker's DNS does not serve reverse lookups). */
  extraHosts: string[];
  smoke: TemplateSmoke[];
}

export interface PlanInput {
  clusterId: string;
  clusterName: string;
  owner: string;
  template: Template;
  size: number;
  subnet: Subnet;
  /** Whose service identities to render ({{cluster.base64Id}}): a restored cluster keeps its source's, so its data still fits. */
  identityId?: string;
  /** Sees every text rendered and the view it is rendered with: `templates check` looks for tags naming nothing. */
  onRender?: (text: string, view: object) => void;
}

/** A short, stable suffix that keeps Docker object names unique even if a cluster name is reused. */
export function shortId(clusterId: string): string {
  return clusterId.replace(/-/g, '').slice(0, 6);
}

/**
 * How long a role's nodes may take to pass their probe, counted from their start. A role started with what it waits
 * for (`startWith`) cannot pass before that has come up, so its own timeout counts on top of theirs (recursively: a
 * hadoop worker starts with a ResourceManager that starts with the NameNode). Without `startWith` it is its own.
 */
export function readinessBudgetSeconds(template: Template, roleName: string): number {
  const role = template.roles[roleName]!;
  const own = role.readiness?.timeoutSeconds ?? 0;
  return own + Math.max(0, ...role.startWith.map((r) => readinessBudgetSeconds(template, r)));
}

/**
 * The cluster id's 16 bytes as 22 url-safe base64 characters: the form Kafka wants for a KRaft
 * cluster id, stable for the cluster's life.
 */
export function base64Id(clusterId: string): string {
  return Buffer.from(clusterId.replace(/-/g, ''), 'hex').toString('base64url');
}

export function planCluster(input: PlanInput): ClusterPlan {
  const { clusterId, clusterName, owner, template, size, subnet } = input;
  const domain = `${clusterName}.clusterbot`;
  const prefix = `cb-${clusterName}-${shortId(clusterId)}`;
  const base = {
    [label.managed]: 'true',
    [label.cluster]: clusterId,
    [label.owner]: owner,
    [label.clusterName]: clusterName,
    [label.template]: template.name,
  };

  // First pass: identities, so every node's files can list all peers.
  const identities: Omit<PlannedNode, 'command' | 'env' | 'files' | 'user' | 'collect' | 'quiesce'>[] = [];
  let ordinal = 0;
  for (const [roleName, role] of Object.entries(template.roles)) {
    const count = roleCount(role, size);
    const scalable = roleScales(role);
    const stem = role.hostname ?? roleName;
    for (let index = 1; index <= count; index++, ordinal++) {
      const hostname = scalable ? `${stem}-${index}` : stem;
      identities.push({
        role: roleName,
        index,
        ordinal,
        hostname,
        fqdn: `${hostname}.${domain}`,
        ip: subnet.nodeIp(ordinal),
        containerName: `${prefix}-${hostname}`,
        image: role.image,
        ports: Object.entries(role.ports).map(([name, p]) => ({ name, ...p })),
        volumes: Object.entries(role.volumes).map(([name, path]) => ({
          name,
          path,
          volumeName: `${prefix}-${hostname}-${name}`,
        })),
        resources: role.resources,
        labels: { ...base, [label.role]: roleName, [label.node]: String(ordinal) },
        security: { capAdd: [...role.capAdd], readOnlyRoot: role.readOnlyRoot, tmpfs: [...role.tmpfs] },
        ...(role.readiness && {
          readiness: { ...role.readiness, timeoutSeconds: readinessBudgetSeconds(template, roleName) },
        }),
        configDirs: role.configDirs,
        logDirs: role.logDirs,
      });
    }
  }

  const roles: Record<string, object[]> = {};
  const hosts: Record<string, string> = {};
  for (const roleName of Object.keys(template.roles)) {
    const members = identities.filter((n) => n.role === roleName);
    roles[roleName] = members.map((n, i) => ({
      index: n.index,
      hostname: n.hostname,
      fqdn: n.fqdn,
      ip: n.ip,
      first: i === 0,
      last: i === members.length - 1,
    }));
    hosts[roleName] = members.map((n) => n.hostname).join(',');
  }

  const clusterView = {
    cluster: { id: clusterId, name: clusterName, domain, size, base64Id: base64Id(input.identityId ?? clusterId) },
    size,
    // Replicated stores (HDFS, Kafka) want min(size, 3) copies, and one fewer in sync to stay writable
    // with a node down; Mustache cannot compute, so the view carries the numbers.
    replication: { factor: Math.min(size, 3), minInSync: Math.max(Math.min(size, 3) - 1, 1) },
    roles,
    hosts,
  };
  const renderWith = (view: object) => (text: string) => {
    input.onRender?.(text, view);
    return Mustache.render(text, view, {}, { escape: (s: string) => s });
  };
  const nodes: PlannedNode[] = identities.map((id) => {
    const role = template.roles[id.role]!;
    const render = renderWith({
      ...clusterView,
      node: { role: id.role, index: id.index, ordinal: id.ordinal, hostname: id.hostname, fqdn: id.fqdn, ip: id.ip },
    });
    return {
      ...id,
      ...(role.command && { command: role.command.map(render) }),
      // Probes may name the node itself ("is worker-2 registered with the master?").
      ...(id.readiness && { readiness: { ...id.readiness, exec: id.readiness.exec.map(render) } }),
      // Like probes, collectors may name the node or its peers ("is {{node.hostname}} in the report?").
      collect: role.collect.map((c) => ({ ...c, exec: c.exec.map(render) })),
      quiesce: role.quiesce.map((q) => ({ ...q, exec: q.exec.map(render) })),
      env: Object.fromEntries(Object.entries(role.env).map(([k, v]) => [k, render(v)])),
      ...(role.user && { user: role.user }),
      files: Object.entries(role.files).map(([path, file]) => ({
        path,
        content: renderConfigFile(
          file,
          render,
          `Rendered by clusterbot from template ${template.name} for cluster ${clusterName}, node ${id.hostname}`,
        ),
      })),
    };
  });

  return {
    clusterId,
    clusterName,
    owner,
    template: template.name,
    size,
    domain,
    // The contract puts role and node on everything; the one network serves every role and node.
    network: {
      name: prefix,
      cidr: subnet.cidr,
      gateway: subnet.gateway,
      labels: { ...base, [label.role]: 'all', [label.node]: 'all' },
    },
    nodes,
    waves: roleStartOrder(template),
    extraHosts: nodes.flatMap((n) => [`${n.fqdn}:${n.ip}`, `${n.hostname}:${n.ip}`]),
    // Smoke checks may name peers or the size ("{{size}} alive workers"), so they are rendered too.
    smoke: template.smoke.map((check) => {
      const render = renderWith(clusterView);
      return {
        ...check,
        exec: check.exec.map(render),
        ...(check.expect !== undefined && { expect: render(check.expect) }),
      };
    }),
  };
}
