import Mustache from 'mustache';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { configFileSchema, fileTexts } from './config-file.js';

/**
 * Cluster templates are admin-owned YAML files (manifests/templates/*.yaml). They are the only
 * place images, commands and resources are chosen: users pick a template and a size, nothing else.
 */

const name = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'lowercase letters, digits and dashes, starting with a letter');
const command = z.array(z.string().min(1)).min(1);

const portSchema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  /** Published on a random host port of the Docker host (recorded after start). */
  publish: z.boolean().default(false),
  /** Shown in the card/thread, e.g. "Spark master UI". Only published or `internalUrl` ports are shown. */
  label: z.string().min(1).optional(),
  /**
   * A web UI: never published on the Docker host (an HTTP UI such as YARN's REST API runs code for
   * anyone who reaches it); people open it through clusterbot's signed-link proxy instead.
   */
  ui: z.boolean().default(false),
  /** URL shape shown for a published port; {{host}} and {{port}} are the Docker host's address and published port. */
  url: z.string().default('{{host}}:{{port}}'),
  /** URL shape shown for use inside the cluster network; {{hostname}} and {{port}} are the node's. */
  internalUrl: z.string().optional(),
});

const probeSchema = z.strictObject({
  /** Runs inside the container; exit code 0 means ready. */
  exec: command,
  timeoutSeconds: z.number().int().min(1).max(3600).default(180),
  intervalSeconds: z.number().min(0.2).max(60).default(2),
});

/**
 * A command that reads a service's own state for the bug scene (`hdfs dfsadmin -report`, ZooKeeper's
 * `mntr`...). It runs inside the node before the cluster is paused; a failure is recorded, never fatal.
 */
const collectSchema = z.strictObject({
  /** Also the output's file name in the archive (`nodes/<host>/collect/<name>.txt`), so no slashes or spaces. */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, dots, dashes and underscores'),
  exec: command,
  timeoutSeconds: z.number().int().min(1).max(600).default(30),
});

/** A directory inside the container copied into the bug scene (configs, the services' own log files). */
const dirPath = z
  .string()
  .startsWith('/')
  .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), 'an absolute path without . or .. segments');

const countBySizeSchema = z.strictObject({
  bySize: z
    .record(z.string().regex(/^[1-9][0-9]?$/, 'a size (1–64)'), z.number().int().min(1).max(16))
    .refine((m) => Object.keys(m).length > 0, 'give at least one "size: count" entry'),
});
/**
 * Linux capabilities a role may add back after clusterbot drops them all. Only the harmless file and
 * identity ones: anything that reaches the host or the network stack (SYS_ADMIN, NET_ADMIN...) is refused.
 */
export const allowedCapabilities = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'SETUID',
  'SETGID',
  'KILL',
  'NET_BIND_SERVICE',
] as const;

const roleSchema = z.strictObject({
  description: z.string().optional(),
  /** An image recipe name from manifests/images. */
  image: name,
  /**
   * `size` scales with the requested size; an integer is fixed; `{ bySize: { "1": 1, "3": 3 } }` steps with
   * the size (the entry with the largest size ≤ the requested one): a ZooKeeper ensemble of 1, then 3.
   */
  count: z.union([z.literal('size'), z.number().int().min(1).max(16), countBySizeSchema]),
  /** Hostname prefix; nodes are <hostname>-<n> when the role can have several nodes, <hostname> otherwise. */
  hostname: name.optional(),
  command: command.optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  user: z.string().optional(),
  resources: z.strictObject({
    cpus: z.number().positive().max(64),
    memoryMiB: z.number().int().min(64).max(262144),
  }),
  ports: z.record(name, portSchema).default({}),
  /** Capabilities the role's processes need beyond none (e.g. root writing into a service user's directory needs DAC_OVERRIDE). */
  capAdd: z.array(z.enum(allowedCapabilities)).default([]),
  /**
   * Run with a read-only root filesystem; `tmpfs` lists what must stay writable. Only for roles whose
   * rendered `files` all land under a volume or tmpfs path (they are copied in before start).
   */
  readOnlyRoot: z.boolean().default(false),
  tmpfs: z.array(dirPath).default([]),
  /** Named volumes (data that must survive container re-creation), by mount path. */
  volumes: z.record(name, z.string().startsWith('/')).default({}),
  /**
   * Files rendered per node and written into the container before it starts: Mustache text, or a
   * format (hadoop-xml, properties) with key/value properties (see domain/config-file.ts).
   */
  files: z.record(z.string().startsWith('/'), configFileSchema).default({}),
  /** Roles whose readiness must pass before this role's containers start. */
  dependsOn: z.array(name).default([]),
  /**
   * Roles of `dependsOn` this role starts together with instead of after they are ready, because its clients retry
   * until those answer (workers, DataNodes, NodeManagers, RegionServers register when their master is up). Only the
   * start moves earlier: its readiness, and that of what it starts with, is still awaited before anything that
   * depends on it starts and before the cluster is ready.
   */
  startWith: z.array(name).default([]),
  readiness: probeSchema.optional(),
  /** Service state captured per node for a snapshot, rendered per node like `readiness`. */
  collect: z.array(collectSchema).default([]),
  /**
   * How a migration brings the role's service to rest before its container is stopped (HDFS `safemode enter` then
   * `saveNamespace`, an HBase flush), run in order inside each node; none: a plain stop. A failing step fails the
   * migration before anything is moved.
   */
  quiesce: z
    .array(z.strictObject({ exec: command, timeoutSeconds: z.number().int().min(1).max(600).default(60) }))
    .default([]),
  /**
   * Whether a memory checkpoint (CRIU, `/cluster snapshot --memory`) of this role's processes can be taken and
   * restored into a new container, and why: what makes it work (JVMs run with -XX:-UsePerfData, PID 1 reaps
   * zombies) or what CRIU refuses. Absent: not tried, so not taken (the snapshot lists the role with that reason).
   */
  checkpoint: z.strictObject({ supported: z.boolean(), reason: z.string().min(1) }).optional(),
  /** The service's configuration directories, copied into a snapshot (secrets masked or listed only). */
  configDirs: z.array(dirPath).default([]),
  /** Where the services write their own log files (beyond `docker logs`), copied with a size cap. */
  logDirs: z.array(dirPath).default([]),
});

const smokeSchema = z.strictObject({
  name: z.string().min(1),
  /** Runs on the first node of this role. */
  role: name,
  exec: command,
  /** A regular expression the output must match. */
  expect: z.string().optional(),
  timeoutSeconds: z.number().int().min(1).max(1800).default(120),
});

export const templateSchema = z.strictObject({
  name,
  title: z.string().min(1),
  description: z.string().min(1),
  version: z.string().min(1),
  sizes: z.strictObject({
    min: z.number().int().min(1).max(64),
    max: z.number().int().min(1).max(64),
    default: z.number().int().min(1).max(64),
    /** When set, only these sizes are accepted (e.g. odd ZooKeeper ensembles). */
    allowed: z.array(z.number().int().min(1).max(64)).optional(),
  }),
  /** What the size counts, for help text ("ZooKeeper servers", "workers"). */
  sizeMeans: z.string().min(1),
  roles: z.record(name, roleSchema),
  smoke: z.array(smokeSchema).default([]),
});

export type Template = z.infer<typeof templateSchema>;
export type TemplateRole = z.infer<typeof roleSchema>;
export type TemplatePort = z.infer<typeof portSchema>;
export type TemplateProbe = z.infer<typeof probeSchema>;
export type TemplateSmoke = z.infer<typeof smokeSchema>;
export type TemplateCollect = z.infer<typeof collectSchema>;

/** One thing wrong with a template document: where (a path into the document) and what. */
export interface TemplateIssue {
  path: (string | number)[];
  message: string;
  /** The key under `path` the issue is about (an unknown key, the role a cycle starts at): where a line number should point. */
  key?: string;
}

/** Validates a parsed YAML document; `source` (the file name) prefixes every message. */
export function parseTemplate(doc: unknown, source: string): Template {
  const checked = checkTemplateDocument(doc);
  if (!checked.template) {
    const issues = checked.issues.map((i) => `${source}: ${formatIssue(i)}`);
    throw new AppError('template_invalid', `Invalid template ${issues.join('\n')}`);
  }
  return checked.template;
}

/** `roles.zk.dependsOn: unknown role "x"`: the form start-up and `clusterbot templates check` both print. */
export function formatIssue(issue: TemplateIssue): string {
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

/**
 * The schema's and the cross-reference checks' issues, structured so a caller holding the YAML
 * source can turn each path into a line number; `template` is set only when there are none.
 */
export function checkTemplateDocument(doc: unknown): {
  template?: Template;
  shape?: Template;
  issues: TemplateIssue[];
} {
  const parsed = templateSchema.safeParse(withoutExtensionFields(doc));
  if (!parsed.success) {
    return {
      issues: parsed.error.issues.map((i) => ({
        // An unknown key is reported on its object; point at the key itself, where the author typed it.
        path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
        message: i.message,
        ...(i.code === 'unrecognized_keys' && { key: i.keys[0] }),
      })),
    };
  }
  const issues = semanticProblems(parsed.data);
  // `shape`: the schema passed but cross-references did not, enough for checks that need no plan.
  return issues.length ? { shape: parsed.data, issues } : { template: parsed.data, shape: parsed.data, issues };
}

/**
 * Top-level keys starting with `x-` are ignored, as in Compose files: they hold YAML anchors that
 * several roles share (`x-hadoop-conf: &hadoop-conf`), so every other unknown key is still an error.
 */
function withoutExtensionFields(doc: unknown): unknown {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return doc;
  return Object.fromEntries(Object.entries(doc).filter(([key]) => !key.startsWith('x-')));
}

/** Checks zod cannot express: cross-references, cycles, size ranges and template syntax. */
function semanticProblems(t: Template): TemplateIssue[] {
  const problems: TemplateIssue[] = [];
  const at = (path: (string | number)[], message: string, key?: string) =>
    problems.push({ path, message, ...(key !== undefined && { key }) });
  const roles = Object.keys(t.roles);
  if (roles.length === 0) at(['roles'], 'at least one role is required');
  const { min, max, default: def, allowed } = t.sizes;
  if (min > max) at(['sizes'], `min ${min} is greater than max ${max}`);
  const sizeOk = (n: number) => n >= min && n <= max && (!allowed || allowed.includes(n));
  if (!sizeOk(def)) at(['sizes', 'default'], `${def} is not an allowed size`);
  for (const a of allowed ?? []) if (a < min || a > max) at(['sizes', 'allowed'], `${a} is outside ${min}..${max}`);
  for (const [roleName, role] of Object.entries(t.roles)) {
    if (typeof role.count === 'object' && !Object.keys(role.count.bySize).some((k) => Number(k) <= min))
      at(['roles', roleName, 'count', 'bySize'], `no entry for the smallest size ${min} (add "${min}: N")`);
  }
  if (!roles.some((r) => t.roles[r]!.count === 'size' || typeof t.roles[r]!.count === 'object') && max > 1)
    at(['roles'], 'no role has `count: size`, so sizes above 1 mean nothing');
  for (const [roleName, role] of Object.entries(t.roles)) {
    for (const dep of role.dependsOn) {
      if (!t.roles[dep]) at(['roles', roleName, 'dependsOn'], `unknown role "${dep}" (roles: ${roles.join(', ')})`);
      if (dep === roleName) at(['roles', roleName, 'dependsOn'], 'a role cannot depend on itself');
    }
    for (const peer of role.startWith)
      if (!role.dependsOn.includes(peer))
        at(
          ['roles', roleName, 'startWith'],
          `"${peer}" is not in dependsOn (${role.dependsOn.join(', ') || 'empty'}): startWith only relaxes a dependency`,
        );
    for (const [portName, p] of Object.entries(role.ports))
      if (p.ui && p.publish)
        at(['roles', roleName, 'ports', portName], 'a web UI port (ui: true) is never published; drop publish');
    if (role.tmpfs.length && !role.readOnlyRoot)
      at(['roles', roleName, 'tmpfs'], 'only meaningful with readOnlyRoot: true');
    for (const [filePath, file] of Object.entries(role.files)) {
      for (const { where, text } of fileTexts(file)) {
        const err = mustacheError(text);
        if (err) at(['roles', roleName, 'files', filePath, ...where], err);
      }
    }
    for (const [key, value] of Object.entries(role.env)) {
      const err = mustacheError(value);
      if (err) at(['roles', roleName, 'env', key], err);
    }
    const collectNames = new Set<string>();
    for (const [i, c] of role.collect.entries()) {
      if (collectNames.has(c.name))
        at(['roles', roleName, 'collect', i, 'name'], `"${c.name}" is used twice (each names its output file)`);
      collectNames.add(c.name);
      for (const [j, arg] of c.exec.entries()) {
        const err = mustacheError(arg);
        if (err) at(['roles', roleName, 'collect', i, 'exec', j], err);
      }
    }
  }
  const cycle = findCycle(t);
  if (cycle) at(['roles'], `dependency cycle ${cycle.join(' → ')}`, cycle[0]);
  for (const [i, s] of t.smoke.entries()) {
    if (!t.roles[s.role]) at(['smoke', i, 'role'], `unknown role "${s.role}"`);
    if (s.expect !== undefined) {
      try {
        new RegExp(s.expect);
      } catch (e) {
        at(['smoke', i, 'expect'], (e as Error).message);
      }
    }
  }
  return problems;
}

function mustacheError(text: string): string | undefined {
  try {
    Mustache.parse(text);
    return undefined;
  } catch (e) {
    return `template syntax: ${(e as Error).message}`;
  }
}

function findCycle(t: Template): string[] | undefined {
  const visiting = new Set<string>();
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (r: string): string[] | undefined => {
    if (done.has(r)) return undefined;
    if (visiting.has(r)) return [...stack.slice(stack.indexOf(r)), r];
    visiting.add(r);
    stack.push(r);
    for (const d of t.roles[r]?.dependsOn ?? []) {
      if (!t.roles[d]) continue;
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    visiting.delete(r);
    done.add(r);
    return undefined;
  };
  for (const r of Object.keys(t.roles)) {
    const c = visit(r);
    if (c) return c;
  }
  return undefined;
}

/**
 * Roles in start order: every role after the roles it depends on (stable by declaration order). A role that
 * `startWith` a dependency starts in that dependency's wave instead of the next one (it waits only for what the
 * dependency itself waits for); each wave is still ready before the next one starts.
 */
export function roleStartOrder(t: Template): string[][] {
  const startAfter = (r: string, seen = new Set<string>()): string[] => {
    const role = t.roles[r]!;
    if (seen.has(r)) return role.dependsOn; // a cycle: reported by the template check; fall back to the plain order
    seen.add(r);
    return [
      ...new Set(role.dependsOn.flatMap((d) => (role.startWith.includes(d) && t.roles[d] ? startAfter(d, seen) : [d]))),
    ];
  };
  const remaining = new Set(Object.keys(t.roles));
  const started = new Set<string>();
  const waves: string[][] = [];
  while (remaining.size) {
    const wave = [...remaining].filter((r) => startAfter(r).every((d) => started.has(d)));
    if (!wave.length) throw new Error(`dependency cycle among ${[...remaining].join(', ')}`);
    wave.forEach((r) => {
      remaining.delete(r);
      started.add(r);
    });
    waves.push(wave);
  }
  return waves;
}

export function isAllowedSize(t: Template, size: number): boolean {
  const { min, max, allowed } = t.sizes;
  return Number.isInteger(size) && size >= min && size <= max && (!allowed || allowed.includes(size));
}

export function describeSizes(t: Template): string {
  if (t.sizes.allowed) return t.sizes.allowed.join(', ');
  return t.sizes.min === t.sizes.max ? String(t.sizes.min) : `${t.sizes.min}–${t.sizes.max}`;
}

/** Node count and reserved resources of a template at a size, for help text and quota checks. */
export function footprint(t: Template, size: number): { nodes: number; cpus: number; memoryMiB: number } {
  let nodes = 0;
  let cpus = 0;
  let memoryMiB = 0;
  for (const role of Object.values(t.roles)) {
    const n = roleCount(role, size);
    nodes += n;
    cpus += n * role.resources.cpus;
    memoryMiB += n * role.resources.memoryMiB;
  }
  return { nodes, cpus: Math.round(cpus * 100) / 100, memoryMiB };
}

/** How many nodes a role has at a size (see `count` in the role schema). */
export function roleCount(role: Pick<TemplateRole, 'count'>, size: number): number {
  const { count } = role;
  if (count === 'size') return size;
  if (typeof count === 'number') return count;
  const steps = Object.entries(count.bySize)
    .map(([from, n]) => [Number(from), n] as const)
    .sort((a, b) => a[0] - b[0]);
  return steps.filter(([from]) => from <= size).at(-1)?.[1] ?? steps[0]![1];
}

/** Whether a role can have several nodes at some size: then its hostnames are numbered (zk-1) at every size. */
export function roleScales(role: Pick<TemplateRole, 'count'>): boolean {
  const { count } = role;
  if (count === 'size') return true;
  if (typeof count === 'number') return count > 1;
  return Object.values(count.bySize).some((n) => n > 1);
}

/** The count as help text shows it: "N", "3", or "1–3". */
export function describeCount(role: Pick<TemplateRole, 'count'>): string {
  const { count } = role;
  if (count === 'size') return 'N';
  if (typeof count === 'number') return String(count);
  const ns = Object.values(count.bySize);
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}
