import { describe, expect, it } from 'vitest';
import { deriveSigningKey, expiresFor, signLink, verifyLink } from '../../src/artifacts/signed-link.js';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const now = new Date('2026-11-30T12:00:00Z');
const key = 'snapshots/c-42.tar.gz';

function link(opts: { key?: string; expiresAt?: Date; filename?: string; secret?: Buffer | string } = {}) {
  const expires = expiresFor(opts.expiresAt ?? new Date(now.getTime() + 3600_000));
  const sig = signLink(opts.secret ?? secret, {
    key: opts.key ?? key,
    expires,
    ...(opts.filename && { filename: opts.filename }),
  });
  return { key: opts.key ?? key, expires: String(expires), filename: opts.filename ?? null, sig };
}

describe('signed download links', () => {
  it('accepts an unaltered link before it expires', () => {
    expect(verifyLink(secret, link(), now)).toEqual({ ok: true });
    expect(verifyLink(secret, link({ filename: 'bug scene.tar.gz' }), now)).toEqual({ ok: true });
  });

  it('refuses a link at and after its expiry', () => {
    const l = link({ expiresAt: now });
    expect(verifyLink(secret, l, now)).toEqual({ ok: false, reason: 'expired' });
    expect(
      verifyLink(secret, link({ expiresAt: new Date(now.getTime() + 1000) }), new Date(now.getTime() + 5000)),
    ).toEqual({ ok: false, reason: 'expired' });
    // One second before, the same kind of link still works.
    expect(verifyLink(secret, link({ expiresAt: new Date(now.getTime() + 1000) }), now)).toEqual({ ok: true });
  });

  it('refuses a link whose key was changed', () => {
    expect(verifyLink(secret, { ...link(), key: 'snapshots/c-43.tar.gz' }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });

  it('refuses a link whose expiry was pushed back', () => {
    const l = link();
    expect(verifyLink(secret, { ...l, expires: String(Number(l.expires) + 86400) }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });

  it('refuses a link whose download name was changed or added', () => {
    expect(verifyLink(secret, { ...link({ filename: 'a.tar.gz' }), filename: 'b.tar.gz' }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifyLink(secret, { ...link(), filename: 'b.tar.gz' }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });

  it('refuses a changed signature', () => {
    const l = link();
    const flipped = (l.sig[0] === 'a' ? 'b' : 'a') + l.sig.slice(1);
    expect(verifyLink(secret, { ...l, sig: flipped }, now)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a link signed with another secret, even an expired one, without saying it expired', () => {
    expect(verifyLink(secret, link({ secret: 'another secret of the same length!' }), now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifyLink(secret, link({ secret: 'other', expiresAt: new Date(0) }), now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });

  it('refuses malformed links without throwing', () => {
    const l = link();
    for (const bad of [
      { ...l, sig: null },
      { ...l, expires: null },
      { ...l, sig: l.sig.slice(2) },
      { ...l, sig: l.sig.toUpperCase() },
      { ...l, expires: '1e12' },
      { ...l, expires: '-5' },
    ]) {
      expect(verifyLink(secret, bad, now)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('derives a stable 32-byte key per secret, different from the secret and from other secrets', () => {
    const a = deriveSigningKey('slack-signing-secret-1');
    expect(a).toHaveLength(32);
    expect(deriveSigningKey('slack-signing-secret-1').equals(a)).toBe(true);
    expect(deriveSigningKey('slack-signing-secret-2').equals(a)).toBe(false);
    expect(a.toString('utf8')).not.toContain('slack-signing-secret-1');
  });
});
