import { nodeDir, type SnapshotManifest } from './snapshot-manifest.js';
import type { TemplateCollect } from './template.js';

/**
 * What a snapshot runs inside every node before the cut (`docker exec` does not work on a paused
 * container, so all of this happens first): the defaults every node gets — processes, sockets, disk,
 * JVM thread dumps and flags — plus the template's own `collect:` commands for the node's role. Pure data:
 * the snapshot service runs them in parallel per node, each bounded by its timeout and output cap, and
 * records a failure in the manifest instead of failing the snapshot.
 */

export interface NodeCollector {
  name: string;
  /** Where its output goes in the archive: `nodes/<hostname>/commands/<name>.txt`. */
  file: string;
  /**
   * The command for `docker exec`, already wrapped in coreutils `timeout`: a client that gives up on an
   * exec leaves the process running inside the container, so the deadline is enforced in there too.
   */
  exec: string[];
  /** `docker exec -u`; undefined runs as the container's user. The defaults run as root (see `jvmScript`). */
  user?: string;
  /** The caller's own deadline for the exec, a little over the in-container `timeout`. */
  timeoutSeconds: number;
  /** Output beyond this many bytes is cut and the collector marked truncated. */
  maxBytes: number;
  /**
   * Pass the output through `maskConfigText` before writing it: process lists and JVM command lines carry
   * `-D…password=` flags, and service CLIs may echo configs. Thread dumps hold no config values.
   */
  maskSecrets: boolean;
}

export type SnapshotLimits = SnapshotManifest['limits'];

const MiB = 1024 * 1024;

/** Caps used unless configured otherwise; recorded in every manifest's `limits`. */
export const defaultSnapshotLimits: SnapshotLimits = {
  containerLogBytes: 8 * MiB,
  logDirBytes: 32 * MiB,
  collectorBytes: 4 * MiB,
  dataCapBytes: 1024 * MiB,
  withData: false,
};

/** Seconds `timeout` waits after TERM before KILL, and the caller's margin over the in-container deadline. */
const KILL_AFTER_SECONDS = 5;
const CALLER_MARGIN_SECONDS = 10;

/** `timeout -k 5 <s> <cmd…>`: the deadline inside the container (coreutils is in the base image). */
export function withTimeout(exec: readonly string[], seconds: number): string[] {
  return ['timeout', '-k', String(KILL_AFTER_SECONDS), String(seconds), ...exec];
}

/** The archive paths of everything a snapshot stores for one node; one place so writer and reader agree. */
export function nodeArchivePaths(hostname: string) {
  const dir = nodeDir(hostname);
  /** `/opt/hadoop/etc/hadoop/core-site.xml` → `<kind>/opt/hadoop/etc/hadoop/core-site.xml`. */
  const under = (kind: string) => (containerPath: string) => `${dir}/${kind}/${containerPath.replace(/^\/+/, '')}`;
  return {
    dir,
    /** `docker inspect` with secret-looking env values masked. */
    inspect: `${dir}/inspect.json`,
    /** The tail of `docker logs` (stdout and stderr interleaved as Docker stored them). */
    containerLog: `${dir}/container.log`,
    command: (name: string) => `${dir}/commands/${name}.txt`,
    /** A file from one of the role's config directories, at its container path. */
    config: under('config'),
    /** A file from one of the role's log directories, at its container path. */
    log: under('logs'),
    /** The node's memory checkpoint (CRIU's image files) as one tar; a restore puts it into the new container. */
    checkpoint: `${dir}/checkpoint.tar`,
    /** A volume's content as one tar, stored as is (restore streams it back into a new volume). */
    volume: (name: string) => `${dir}/volumes/${name}.tar`,
  };
}

/**
 * Thread dumps and JVM facts for every Java process in the container. Attaching (jcmd) must happen as
 * the JVM's own uid or as root: run it as root, try directly (JDK 17 accepts root), and if that fails
 * retry as the JVM's owner with `setpriv` (util-linux, in every Debian image). PIDs come from both
 * `pgrep -x java` and `jcmd -l`, since the latter misses JVMs run with -XX:-UsePerfData or whose
 * /tmp/hsperfdata was cleaned. Arguments: per-call timeout, then each jcmd command as one word list.
 * Exit status 1 when any call failed, 0 otherwise (also with no JVM at all).
 */
export const jvmScript = [
  'per=$1; shift; fail=0; n=0',
  "pids=$({ pgrep -x java; jcmd -l 2>/dev/null | awk '{print $1}'; } | sort -un)",
  'for pid in $pids; do',
  '  [ -d /proc/$pid ] && [ "$pid" != "$$" ] || continue',
  '  uid=$(stat -c %u /proc/$pid 2>/dev/null) || continue; gid=$(stat -c %g /proc/$pid)',
  '  n=$((n+1))',
  "  echo \"===== pid $pid, user $(stat -c %U /proc/$pid): $(tr '\\0' ' ' </proc/$pid/cmdline | cut -c1-400)\"",
  '  for cmd in "$@"; do',
  '    echo "----- jcmd $pid $cmd"',
  '    if ! timeout -k 2 "$per" jcmd $pid $cmd 2>&1; then',
  '      if [ "$(id -u)" = 0 ] && [ "$uid" != 0 ]; then',
  '        echo "(retrying as uid $uid)"',
  '        timeout -k 2 "$per" setpriv --reuid="$uid" --regid="$gid" --clear-groups jcmd $pid $cmd 2>&1 || { echo "(jcmd failed: exit $?)"; fail=1; }',
  '      else echo "(jcmd failed)"; fail=1; fi',
  '    fi',
  '  done',
  'done',
  '[ "$n" -gt 0 ] || echo "(no Java process)"',
  'exit $fail',
].join('\n');

interface CollectorSpec {
  name: string;
  exec: string[];
  timeoutSeconds: number;
  maxBytes: number;
  maskSecrets: boolean;
  user?: string;
}

function build(hostname: string, spec: CollectorSpec): NodeCollector {
  return {
    name: spec.name,
    file: nodeArchivePaths(hostname).command(spec.name),
    exec: withTimeout(spec.exec, spec.timeoutSeconds),
    ...(spec.user !== undefined && { user: spec.user }),
    timeoutSeconds: spec.timeoutSeconds + KILL_AFTER_SECONDS + CALLER_MARGIN_SECONDS,
    maxBytes: spec.maxBytes,
    maskSecrets: spec.maskSecrets,
  };
}

/**
 * The collectors every node gets. Root, because `ss -p` shows other users' sockets only to root and
 * jcmd attaches as root or the JVM's owner. `volumePaths` are the node's volume mount paths (`du -sh` of each).
 */
export function defaultCollectors(node: { hostname: string; volumePaths: readonly string[] }): NodeCollector[] {
  const specs: CollectorSpec[] = [
    // -ww: never cut command lines to a terminal width.
    {
      name: 'ps',
      exec: ['ps', '-ww', '-eo', 'pid,ppid,user,etime,rss,args'],
      timeoutSeconds: 15,
      maxBytes: 1 * MiB,
      maskSecrets: true,
      user: '0',
    },
    {
      name: 'sockets',
      exec: ['ss', '-ltunp'],
      timeoutSeconds: 15,
      maxBytes: 256 * 1024,
      maskSecrets: false,
      user: '0',
    },
    {
      name: 'disk',
      // Volume paths arrive as arguments ("$@"), never spliced into the script.
      exec: ['sh', '-c', 'df -h; [ $# -eq 0 ] || { echo; du -sh -- "$@"; }', 'disk', ...node.volumePaths],
      timeoutSeconds: 60,
      maxBytes: 256 * 1024,
      maskSecrets: false,
      user: '0',
    },
    {
      name: 'jvm-threads',
      exec: ['bash', '-c', jvmScript, 'jvm', '30', 'Thread.print -l'],
      timeoutSeconds: 180,
      maxBytes: 16 * MiB,
      maskSecrets: false,
      user: '0',
    },
    {
      name: 'jvm-info',
      exec: ['bash', '-c', jvmScript, 'jvm', '20', 'VM.version', 'VM.command_line', 'VM.flags'],
      timeoutSeconds: 120,
      maxBytes: 2 * MiB,
      maskSecrets: true,
      user: '0',
    },
  ];
  return specs.map((s) => build(node.hostname, s));
}

/** The template's `collect:` commands for this node (already rendered by the plan), as the container's user. */
export function templateCollectors(
  node: { hostname: string; collect: readonly TemplateCollect[] },
  limits: Pick<SnapshotLimits, 'collectorBytes'> = defaultSnapshotLimits,
): NodeCollector[] {
  return node.collect.map((c) =>
    build(node.hostname, {
      name: c.name,
      exec: [...c.exec],
      timeoutSeconds: c.timeoutSeconds,
      maxBytes: limits.collectorBytes,
      maskSecrets: true,
    }),
  );
}

/**
 * Everything to run in one node before the cut: defaults first, then the template's. A template
 * collector named like a default (`ps`) would write the same file, so it gets a `collect-` prefix.
 */
export function nodeCollectors(
  node: { hostname: string; volumes: readonly { path: string }[]; collect: readonly TemplateCollect[] },
  limits: Pick<SnapshotLimits, 'collectorBytes'> = defaultSnapshotLimits,
): NodeCollector[] {
  const defaults = defaultCollectors({ hostname: node.hostname, volumePaths: node.volumes.map((v) => v.path) });
  const taken = new Set(defaults.map((c) => c.name));
  const fromTemplate = templateCollectors(
    {
      hostname: node.hostname,
      collect: node.collect.map((c) => (taken.has(c.name) ? { ...c, name: `collect-${c.name}` } : c)),
    },
    limits,
  );
  return [...defaults, ...fromTemplate];
}
