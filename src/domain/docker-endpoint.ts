/**
 * Whether clusterbot may talk to a Docker Engine at a URL. The Engine API is root on its host: whoever can
 * reach a plain `tcp://` port owns the machine, so plain TCP is accepted only on loopback, TLS (mutual, with
 * our client certificate) everywhere else, and an operator who really wants plain TCP on a network says so
 * per host. Pure: the files of a TLS directory are read by the adapter that connects.
 */
export interface DockerEndpoint {
  name: string;
  url: string;
  /** A directory with ca.pem, cert.pem and key.pem (Docker's DOCKER_CERT_PATH layout). */
  tlsDir?: string | undefined;
  /** The operator accepted plain TCP to a non-loopback address for this host. */
  insecure?: boolean | undefined;
}

export type EndpointCheck =
  | { ok: true; transport: 'unix' | 'tcp' | 'tls'; host?: string; port?: number; socketPath?: string }
  | { ok: false; reason: string };

/** 127.0.0.0/8, ::1 and localhost: only this machine can open those. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function checkDockerEndpoint(e: DockerEndpoint): EndpointCheck {
  let u: URL;
  try {
    u = new URL(e.url);
  } catch {
    return {
      ok: false,
      reason: `Docker host ${e.name}: "${e.url}" is not a URL (use unix:///var/run/docker.sock, tcp://HOST:2375 or https://HOST:2376).`,
    };
  }
  if (u.protocol === 'unix:') return { ok: true, transport: 'unix', socketPath: u.pathname };
  if (!['tcp:', 'http:', 'https:'].includes(u.protocol))
    return {
      ok: false,
      reason: `Docker host ${e.name}: "${u.protocol}" is not a Docker API scheme (use unix://, tcp:// or https://).`,
    };
  const tls = u.protocol === 'https:' || Boolean(e.tlsDir);
  const port = Number(u.port || (tls ? 2376 : 2375));
  if (tls) {
    if (!e.tlsDir)
      return {
        ok: false,
        reason: `Docker host ${e.name} (${e.url}) uses TLS but has no certificates: set DOCKER_TLS_DIR to a directory with ca.pem, cert.pem and key.pem.`,
      };
    return { ok: true, transport: 'tls', host: u.hostname, port };
  }
  if (isLoopback(u.hostname) || e.insecure) return { ok: true, transport: 'tcp', host: u.hostname, port };
  return {
    ok: false,
    reason:
      `Docker host ${e.name} (${e.url}) would be reached over plain TCP on a network: anyone who can open that port is root on that machine. ` +
      `Use https:// with DOCKER_TLS_DIR (mutual TLS), or add ${e.name} to DOCKER_INSECURE_HOSTS to accept the risk.`,
  };
}
