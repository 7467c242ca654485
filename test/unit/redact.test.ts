import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFilesystemStore } from '../../src/artifacts/filesystem-store.js';
import { uiLink } from '../../src/domain/ui-link.js';
import { createLogger } from '../../src/logger.js';
import { REDACTED, redactText, redactValue } from '../../src/redact.js';

/** A secret no text around it can contain by accident: tests look for it in the output. */
const secret = fc.string({ minLength: 1, maxLength: 24 }).map((s) => `S3CRET${s.replace(/\s/g, '')}`);
const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
const scheme = fc.constantFrom(
  'postgres',
  'postgresql',
  'redis',
  'rediss',
  'mysql',
  'amqp',
  'mongodb+srv',
  'https',
  's3',
);
const host = fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}(:[0-9]{2,5})?$/);
/** Everything but whitespace: passwords with `/`, `@`, `:`, `%`, `?` appear in real connection strings. */
const anyPassword = fc.string({ minLength: 0, maxLength: 20 }).map((s) => `S3CRET${s.replace(/\s/g, '')}`);
/** What a query parameter can carry unencoded. */
const paramValue = fc.stringMatching(/^[A-Za-z0-9%._~+/=-]{0,20}$/).map((s) => `S3CRET${s}`);

/** The lines a logger writes for `log(logger)`, parsed. */
function logged(log: (l: ReturnType<typeof createLogger>) => void): string {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (d: Buffer) => chunks.push(d.toString()));
  log(createLogger({ level: 'debug', destination: out }));
  return chunks.join('');
}

describe('redactText', () => {
  it('hides the password of a connection string whatever it contains (user:pa/ss@, :secret@)', () => {
    fc.assert(
      fc.property(scheme, fc.option(word, { nil: '' }), anyPassword, host, word, (s, user, pw, h, db) => {
        const url = `${s}://${user}:${pw}@${h}/${db}`;
        expect(redactText(`connect to ${url} failed`)).toBe(`connect to ${s}://${user}:${REDACTED}@${h}/${db} failed`);
      }),
      { numRuns: 2000 },
    );
  });

  it('hides password, token and key parameters in query strings and key=value text', () => {
    const key = fc.constantFrom(
      'password',
      'PASSWORD',
      'db_password',
      'token',
      'access_token',
      'apiKey',
      'api-key',
      'secret',
      'client_secret',
      'sslpassword',
    );
    fc.assert(
      fc.property(scheme, host, key, paramValue, fc.constantFrom('?', '&', ' ', ', '), (s, h, k, v, sep) => {
        const text = `${s}://${h}/db?sslmode=require${sep}${k}=${v}&application_name=x`;
        const out = redactText(text);
        expect(out).not.toContain('S3CRET');
        expect(out).toContain(`${k}=${REDACTED}`);
        expect(out).toContain('application_name=x');
      }),
      { numRuns: 1000 },
    );
  });

  it('hides Slack tokens and bearer credentials in free text', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('xoxb', 'xoxp', 'xapp'),
        fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/),
        (prefix, rest) => {
          expect(redactText(`calling with ${prefix}-${rest} now`)).toBe(`calling with ${REDACTED} now`);
          expect(redactText(`Authorization: Bearer ${rest}`)).not.toContain(
            rest.length > 3 ? `Bearer ${rest}` : '\u0000',
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves text without secrets alone', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9 .,()-]{0,80}$/), (t) => {
        expect(redactText(t)).toBe(t);
      }),
      { numRuns: 500 },
    );
  });
});

describe('redactValue and the logger', () => {
  const secretKeyName = fc.constantFrom(
    'password',
    'token',
    'botToken',
    'signingSecret',
    'appToken',
    'authorization',
    'Authorization',
    'clientSecret',
    'apiKey',
    'api_key',
    'privateKey',
    'secretAccessKey',
    'PGPASSWORD',
    'x-slack-signature',
    'cookie',
    'credentials',
    'keys',
  );
  /** An object of random shape with a secret planted at a random depth under a secret-looking key. */
  const planted = fc
    .tuple(fc.array(word, { minLength: 0, maxLength: 8 }), secretKeyName, secret, fc.jsonValue({ maxDepth: 3 }))
    .map(([path, key, value, noise]) => {
      const leaf: Record<string, unknown> = { [key]: value, noise };
      const obj = path.reduceRight<Record<string, unknown>>(
        (inner, k, i) => (i % 3 === 2 ? { [k]: [inner] } : { [k]: inner }),
        leaf,
      );
      return { obj, value };
    });

  it('replaces secret-looking fields at any depth, inside arrays too', () => {
    fc.assert(
      fc.property(planted, ({ obj }) => {
        expect(JSON.stringify(redactValue(obj))).not.toContain('S3CRET');
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the shape and the harmless fields', () => {
    expect(
      redactValue({ a: { password: 'x', passwordFile: '/run/secrets/pw', requestKey: 'slack:T1:1', n: 3, ok: true } }),
    ).toEqual({ a: { password: REDACTED, passwordFile: '/run/secrets/pw', requestKey: 'slack:T1:1', n: 3, ok: true } });
  });

  it('no log line contains a planted secret: nested fields, messages, errors, child bindings', () => {
    fc.assert(
      fc.property(planted, scheme, anyPassword, host, ({ obj }, s, pw, h) => {
        const url = `${s}://user:${pw}@${h}/db`;
        const out = logged((log) => {
          log.info(obj, 'payload');
          log.warn(`could not reach ${url}`);
          log.error(new Error(`connect ECONNREFUSED ${url}`), 'database down');
          log.error({ err: new Error(`bad password=${pw.replace(/[\s&;,"'}]/g, '')}`) }, 'failed');
          log.child({ config: { databaseUrl: url, slack: { botToken: 'xoxb-S3CRET-1' } } }).info('started');
        });
        expect(out.split('\n').filter(Boolean)).toHaveLength(5);
        expect(out).not.toContain('S3CRET');
      }),
      { numRuns: 300 },
    );
  });
});

describe('signed links in logs', () => {
  it('a download link (sig=) and a web UI link (cb_sig=) are logged without their signatures, in messages, fields and Slack blocks', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'cb-redact-'));
    try {
      const store = createFilesystemStore({
        root,
        signingKey: Buffer.alloc(32, 7),
        publicUrl: 'https://bot.example.com',
      });
      const download = await store.link('snapshots/abc.tar.gz', new Date(Date.now() + 3_600_000), {
        filename: 'scene.tar.gz',
      });
      const ui = `https://bot.example.com${uiLink(Buffer.alloc(32, 9), { clusterId: randomUUID(), hostname: 'master', port: 8080, user: 'U123ABC', expires: 1_900_000_000 })}`;
      const sigs = [new URL(download).searchParams.get('sig')!, new URL(ui).searchParams.get('cb_sig')!];
      expect(sigs.every((s) => /^[0-9a-f]{64}$/.test(s))).toBe(true);
      const out = logged((log) => {
        log.info(`posted ${download}`);
        log.info(
          {
            link: ui,
            blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `<${download}|Download> · <${ui}|Spark UI>` } }],
          },
          'sent',
        );
        log.warn({ url: ui }, `ui link ${ui} refused`);
      });
      expect(out.split('\n').filter(Boolean)).toHaveLength(3);
      for (const s of sigs) expect(out).not.toContain(s);
      expect(out).toContain(`sig=${REDACTED}`);
      expect(out).toContain(`cb_sig=${REDACTED}`);
      expect(out).toContain('cb_user=U123ABC'); // the rest of the link stays readable
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
