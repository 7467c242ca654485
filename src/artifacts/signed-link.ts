import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { LinkCheck } from '../services/ports.js';

/**
 * Expiring download links for the filesystem store: HMAC-SHA256 over (key, expiry, filename) with a secret
 * only clusterbot knows. Whoever holds the link may download until it expires; changing any part of it
 * (key, expiry, filename or signature) makes the signature wrong. Pure: the clock is an argument.
 */
export interface LinkParams {
  key: string;
  /** Unix seconds after which the link is refused. */
  expires: number;
  /** The download name, signed too so a link cannot be re-labelled. */
  filename?: string;
}

// A version tag and newlines (which keys, decimal expiries and the signature cannot contain) keep the
// fields from sliding into each other: ("a", 12) and ("a1", 2) sign differently.
function message(p: LinkParams): string {
  return `clusterbot-download-v1\n${p.key}\n${p.expires}\n${p.filename ?? ''}`;
}

export function expiresFor(expiresAt: Date): number {
  return Math.floor(expiresAt.getTime() / 1000);
}

export function signLink(secret: Buffer | string, p: LinkParams): string {
  return createHmac('sha256', secret).update(message(p)).digest('hex');
}

/** Checks the signature before the expiry, so the answer never tells a forger which part was wrong. */
export function verifyLink(secret: Buffer | string, p: { key: string; expires: string | null; filename?: string | null; sig: string | null }, now: Date): LinkCheck {
  if (!p.expires || !/^\d{1,12}$/.test(p.expires) || !p.sig || !/^[0-9a-f]{64}$/.test(p.sig)) return { ok: false, reason: 'malformed' };
  const params: LinkParams = { key: p.key, expires: Number(p.expires), ...(p.filename != null && { filename: p.filename }) };
  const expected = Buffer.from(signLink(secret, params), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(p.sig, 'hex'))) return { ok: false, reason: 'bad signature' };
  if (now.getTime() >= params.expires * 1000) return { ok: false, reason: 'expired' };
  return { ok: true };
}

/**
 * A signing key derived from another secret (e.g. SLACK_SIGNING_SECRET), so links survive restarts and every
 * process of one deployment agrees without another setting. HKDF with its own label keeps the two uses apart:
 * a download signature reveals nothing usable against Slack request verification.
 */
export function deriveSigningKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'clusterbot', 'download-links-v1', 32));
}
