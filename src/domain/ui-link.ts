import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Signed access to a cluster's web UIs through clusterbot's proxy. A grant names one cluster and one Slack
 * user and expires; HMAC-SHA256 over those with a key only clusterbot knows. Two kinds, signed apart so one
 * cannot stand in for the other: the `link` a Slack button hands out (minutes), and the `session` the proxy
 * issues once the link was opened (an hour). The session travels in the path of every proxied URL
 * (/ui/<cluster>/<session>/<node>/<port>/…) because a page served sandboxed (an opaque origin) sends no cookies
 * with its own requests; the same value in a cookie binds a page load in the address bar to the browser that
 * opened the link. Either way the proxy asks, at every request, whether that user may still see the cluster.
 * Pure (the clock is an argument), so it lives in domain/: the proxy (http/) checks grants, the Slack button
 * (slack/) issues them.
 */
export interface UiGrant {
  kind: 'link' | 'session';
  clusterId: string;
  /** The Slack user the grant was issued to. */
  user: string;
  /** Unix seconds after which the grant is refused. */
  expires: number;
}

export type UiGrantCheck =
  | { ok: true; grant: UiGrant }
  | { ok: false; reason: 'malformed' | 'expired' | 'bad signature' };

export const uiPrefix = '/ui/';
export const uiCookieName = 'clusterbot_ui';

const userPattern = /^[A-Z0-9_]{1,32}$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// A version tag and newlines (which none of the fields may contain) keep fields from sliding into each other.
function message(g: UiGrant): string {
  return `clusterbot-ui-v1\n${g.kind}\n${g.clusterId}\n${g.user}\n${g.expires}`;
}

export function signUiGrant(key: Buffer, g: UiGrant): string {
  return createHmac('sha256', key).update(message(g)).digest('hex');
}

/** Checks the signature before the expiry, so the answer never tells a forger which part was wrong. */
export function verifyUiGrant(
  key: Buffer,
  g: {
    kind: UiGrant['kind'];
    clusterId: string;
    user: string | null | undefined;
    expires: string | null | undefined;
    sig: string | null | undefined;
  },
  now: Date,
): UiGrantCheck {
  if (
    !g.user ||
    !userPattern.test(g.user) ||
    !uuidPattern.test(g.clusterId) ||
    !g.expires ||
    !/^\d{1,12}$/.test(g.expires) ||
    !g.sig ||
    !/^[0-9a-f]{64}$/.test(g.sig)
  )
    return { ok: false, reason: 'malformed' };
  const grant: UiGrant = { kind: g.kind, clusterId: g.clusterId, user: g.user, expires: Number(g.expires) };
  if (!timingSafeEqual(Buffer.from(signUiGrant(key, grant), 'hex'), Buffer.from(g.sig, 'hex')))
    return { ok: false, reason: 'bad signature' };
  if (now.getTime() >= grant.expires * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, grant };
}

/**
 * The path of a node's UI port under the proxy: /ui/<uuid>/master/8080/ (where a signed link points), or with the
 * session the link was traded for, /ui/<uuid>/<session>/master/8080/ (every page, asset and API call after it).
 */
export function uiPath(clusterId: string, hostname: string, port: number, session?: string): string {
  return `${uiPrefix}${clusterId}/${session ? `${session}/` : ''}${hostname}/${port}/`;
}

/**
 * Where a cluster's UIs are served: clusterbot's public URL, or (PUBLIC_UI_DOMAIN) a host of the cluster's own,
 * https://<cluster id>.<domain>, so each cluster is a browser origin of its own.
 */
export function uiOrigin(publicUrl: string, uiDomain: string | undefined, clusterId: string): string {
  if (!uiDomain) return publicUrl;
  return `${new URL(publicUrl).protocol}//${clusterId}.${uiDomain}`;
}

/** A link that opens a node's UI for `user` until `expires`: relative, the caller prefixes uiOrigin. */
export function uiLink(
  key: Buffer,
  p: { clusterId: string; hostname: string; port: number; user: string; expires: number },
): string {
  const sig = signUiGrant(key, { kind: 'link', clusterId: p.clusterId, user: p.user, expires: p.expires });
  const q = new URLSearchParams({ cb_user: p.user, cb_exp: String(p.expires), cb_sig: sig });
  return `${uiPath(p.clusterId, p.hostname, p.port)}?${q}`;
}

/** A session (path segment and cookie value): user.expires.sig. */
export function uiSession(key: Buffer, g: Omit<UiGrant, 'kind'>): string {
  return `${g.user}.${g.expires}.${signUiGrant(key, { ...g, kind: 'session' })}`;
}

export const uiSessionPattern = /^([A-Z0-9_]{1,32})\.(\d{1,12})\.([0-9a-f]{64})$/;

export function parseUiSession(value: string | undefined): { user: string; expires: string; sig: string } | undefined {
  const m = uiSessionPattern.exec(value ?? '');
  return m ? { user: m[1]!, expires: m[2]!, sig: m[3]! } : undefined;
}

/**
 * The key for UI grants, derived from the download-link key (DOWNLOAD_SIGNING_KEY, else derived from
 * SLACK_SIGNING_SECRET, else the key file in ARTIFACT_DIR) with its own HKDF label, so every process of a
 * deployment agrees without another setting and a UI signature is useless as a download signature.
 */
export function deriveUiKey(secret: Buffer | string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'clusterbot', 'ui-links-v1', 32));
}
