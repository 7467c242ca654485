import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/clusterbot-process.js';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.js';
import { IDS } from '../support/slack-request.js';
import { uiTestTemplatesDir } from '../support/ui-test-node.js';

// What the scripts given to page.evaluate see (they run in the browser; this project's TypeScript has no DOM library).
declare const document: any, location: any, self: any, getComputedStyle: any;
/**
 * Web UIs for the owner, admins and the people the owner shares with, through the running executable and a real
 * browser (Debian's chromium, driven by playwright-core): a stranger's press is refused naming the owner; a shared
 * user's link works (the page, its stylesheet, its script's calls to its own API, its WebSocket) until `unshare`,
 * after which the very next request of the same browser is refused; a page of one cluster reads nothing of another
 * with the viewer's cookies; a node's crafted headers and redirect stay behind the proxy; an endless HTML page does
 * not grow the bot. The clusters are one-node `uitest` clusters (test/support/ui-test-node.ts).
 */
describe("Slack → clusterbot: who may open a cluster's web UIs, in a browser", () => {
  const owner = IDS.user_id;
  const bob = 'U0BOB';
  const stranger = 'U0CAROL';
  const a = `ui-a-${randomUUID().slice(0, 4)}`;
  const b = `ui-b-${randomUUID().slice(0, 4)}`;
  let h: SlackHarness;
  let base = '';
  let idA = '';
  let idB = '';
  let browser: Browser;
  let bobs: BrowserContext;
  let pageA: Page;
  let templates = '';

  const ids = async (): Promise<Record<string, string>> =>
    Object.fromEntries((await h.rows()).map((r) => [r.name, r.id]));
  const shares = async () =>
    (await h.db.database.pool.query('SELECT cluster_id, user_id FROM cluster_shares ORDER BY user_id')).rows;
  /** Presses 🌐 Web UIs as `user`; the ephemeral answer. */
  const press = async (user: string, clusterId: string) => {
    const id = `webui-${randomUUID().slice(0, 8)}`;
    expect((await h.press({ action_id: 'cluster.webui', value: clusterId }, { responseId: id, user })).status).toBe(
      200,
    );
    return h.reply(id);
  };
  const linkIn = (reply: { blocks: unknown[] }) =>
    /<(http[^|>]+)\|/.exec(JSON.stringify(reply.blocks))![1]!.replace(/\\u0026/g, '&');
  /** Sends `/cluster <text>` as `user`: the ack's body for a parse error, else the ephemeral reply. */
  const command = async (text: string, user: string = owner) => {
    const id = `cmd-${randomUUID().slice(0, 8)}`;
    const res = await h.send(text, { responseId: id, user }).res;
    expect(res.status).toBe(200);
    if (res.body) return JSON.parse(res.body).text as string;
    return (await h.reply(id, 20_000)).text;
  };
  /** The session path a link is traded for (fetch, no browser): the 303's Location and its cookie. */
  const session = async (link: string) => {
    const r = await fetch(link, { redirect: 'manual' });
    expect(r.status).toBe(303);
    return { path: r.headers.get('location')!, cookie: r.headers.get('set-cookie')!.split(';')[0]! };
  };

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    templates = uiTestTemplatesDir();
    h = await startSlackHarness({
      subnetPool: '10.236.0.0/16',
      env: { TEMPLATES_DIR: templates, PORT: String(port), PUBLIC_URL: base },
    });
    expect((await h.send(`create uitest --name ${a}`).res).status).toBe(200);
    expect((await h.send(`create uitest --name ${b}`, { user: bob }).res).status).toBe(200);
    await h.waitForCard(a, 'ready', 180_000);
    await h.waitForCard(b, 'ready', 180_000);
    const known = await ids();
    idA = known[a]!;
    idB = known[b]!;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    bobs = await browser.newContext();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    if (templates) rmSync(templates, { recursive: true, force: true });
  });

  it("a stranger's press of Web UIs is refused, naming the owner and how to ask; no link", async () => {
    const reply = await press(stranger, idA);
    expect(reply.text).toBe(`🔒 ${a} belongs to <@${owner}>; ask them to \`/cluster share ${a} @you\`.`);
    expect(JSON.stringify(reply.blocks)).not.toContain('/ui/');
    // The owner gets links.
    expect(JSON.stringify((await press(owner, idA)).blocks)).toContain(`${base}/ui/${idA}/web/8000/?cb_user=${owner}`);
  }, 60_000);

  it('bad shares are refused with the usage and change nothing', async () => {
    for (const [text, user, said] of [
      [`share ${a} <@${owner}>`, owner, `You own ${a}`],
      [`share ${a} @bob`, owner, 'is not a Slack user'],
      [`share nope-${randomUUID().slice(0, 4)} <@${bob}>`, owner, 'There is no live cluster called'],
      [`share ${a} <@${bob}>`, stranger, `${a} belongs to <@${owner}>; only they or an admin can change it`],
      [`unshare ${a} <@${bob}>`, owner, `${a} is not shared with <@${bob}>`],
    ] as const) {
      const reply = await command(text, user);
      expect(reply, text).toContain(said);
      expect(reply, text).toMatch(/Usage: `\/cluster (un)?share NAME @USER`/);
    }
    expect(await shares()).toEqual([]);
    expect(
      (await h.db.database.pool.query(`SELECT count(*)::int AS n FROM events WHERE kind IN ('shared', 'unshared')`))
        .rows[0].n,
    ).toBe(0);
  }, 60_000);

  it('shared with bob: the card and the history name him, and his link works in a browser (page, stylesheet, its API, its WebSocket)', async () => {
    expect(await command(`share ${a} <@${bob}|bob>`)).toContain(`Shared ${a} with <@${bob}>`);
    await h.fake.waitFor(
      () => JSON.stringify(h.card(a)?.blocks ?? '').includes(`Shared with <@${bob}>`) || undefined,
      20_000,
    );
    const historyId = `history-${randomUUID().slice(0, 6)}`;
    h.send(`history ${a}`, { responseId: historyId });
    expect(JSON.stringify((await h.reply(historyId, 20_000)).blocks)).toContain(
      `<@${owner}> · shared it with <@${bob}>`,
    );

    const link = linkIn(await press(bob, idA));
    pageA = await bobs.newPage();
    const statuses: number[] = [];
    pageA.on('response', (r) => void statuses.push(r.status()));
    await pageA.goto(link);
    await pageA.waitForFunction(
      () => document.body.getAttribute('data-api') && document.body.getAttribute('data-ws'),
      null,
      { timeout: 20_000 },
    );
    const seen = await pageA.evaluate(() => ({
      title: document.getElementById('title')!.textContent,
      color: getComputedStyle(document.getElementById('title')!).color,
      api: document.body.getAttribute('data-api'),
      ws: document.body.getAttribute('data-ws'),
      path: location.pathname,
      origin: self.origin,
    }));
    expect(seen).toEqual({
      title: 'crafted ui of web',
      color: 'rgb(1, 2, 3)',
      api: '{"node": "web"}',
      ws: 'echo:ping',
      path: expect.stringMatching(new RegExp(`^/ui/${idA}/${bob}\\.\\d+\\.[0-9a-f]{64}/web/8000/$`)),
      origin: 'null',
    });
    expect(statuses.filter((s) => s >= 400)).toEqual([]);
  }, 120_000);

  it("a page under cluster A reads nothing of cluster B with the viewer's cookies", async () => {
    // Bob opens his own cluster B in the same browser: his cookie for B is there.
    const pageB = await bobs.newPage();
    await pageB.goto(linkIn(await press(bob, idB)));
    await pageB.waitForFunction(() => document.body.getAttribute('data-api'), null, { timeout: 20_000 });
    expect((await bobs.cookies()).map((c) => c.path).sort()).toEqual([`/ui/${idA}/`, `/ui/${idB}/`].sort());
    const sessionB = new URL(pageB.url()).pathname;

    const probes = await pageA.evaluate(
      async ([b, sessionPath]) => {
        const tries: Record<string, string> = {};
        const read = async (name: string, url: string, init: RequestInit) => {
          try {
            const r = await fetch(url, init);
            tries[name] = `${r.type} ${r.status} ${(await r.text()).slice(0, 40)}`;
          } catch (e) {
            tries[name] = `refused: ${(e as Error).name}`;
          }
        };
        await read('cookie path', `/ui/${b}/web/8000/api`, { credentials: 'include' });
        await read('no-cors', `/ui/${b}/web/8000/api`, { credentials: 'include', mode: 'no-cors' });
        await read('clusterbot', '/healthz', { credentials: 'include' });
        // Even B's page itself, framed: it loads (as its own opaque origin), and A's script cannot look into it.
        const frame = document.createElement('iframe');
        frame.src = sessionPath;
        document.body.appendChild(frame);
        await new Promise((r) => frame.addEventListener('load', r));
        try {
          tries.frame = `read: ${frame.contentDocument?.body?.innerHTML?.slice(0, 40) ?? 'nothing'}`;
        } catch (e) {
          tries.frame = `refused: ${(e as Error).name}`;
        }
        try {
          tries.cookie = `document.cookie: ${document.cookie}`;
        } catch (e) {
          tries.cookie = `refused: ${(e as Error).name}`;
        }
        return tries;
      },
      [idB, sessionB] as const,
    );
    expect(probes['cookie path']).toBe('refused: TypeError');
    expect(probes['no-cors']).toBe('opaque 0 ');
    expect(probes.clusterbot).toBe('refused: TypeError');
    expect(probes.frame).toBe('read: nothing');
    expect(probes.cookie).toBe('refused: SecurityError');
    await pageB.close();
  }, 60_000);

  it('a copied address is no key in another browser', async () => {
    const other = await browser.newContext();
    const page = await other.newPage();
    const r = await page.goto(pageA.url());
    expect(r!.status()).toBe(403);
    expect(await page.textContent('body')).toContain('opened in another browser');
    await other.close();
  }, 60_000);

  it('unshare: the next request of the same browser is refused, and the card and history say so', async () => {
    expect(await command(`unshare ${a} <@${bob}>`)).toContain(`${a} is no longer shared with <@${bob}>`);
    const again = await pageA.evaluate(async () => {
      try {
        return String((await fetch('api')).status);
      } catch (e) {
        return `refused: ${(e as Error).name}`;
      }
    });
    // Refused by the proxy (a 403 without CORS headers, so the sandboxed page cannot even read the status).
    expect(again).toBe('refused: TypeError');
    // The WebSocket the page opened before is closed too (the proxy asks again while it is open).
    await pageA.waitForFunction(() => document.body.getAttribute('data-ws-closed') === 'yes', null, {
      timeout: 30_000,
    });
    const reload = await pageA.reload();
    expect(reload!.status()).toBe(403);
    expect(await pageA.textContent('body')).toContain('not shared with you');
    expect(await shares()).toEqual([]);
    await h.fake.waitFor(
      () => (JSON.stringify(h.card(a)?.blocks ?? '').includes('Shared with') ? undefined : true),
      20_000,
    );
    const reply = await press(bob, idA);
    expect(reply.text).toContain(`${a} belongs to <@${owner}>`);
    const historyId = `history-${randomUUID().slice(0, 6)}`;
    h.send(`history ${a}`, { responseId: historyId });
    expect(JSON.stringify((await h.reply(historyId, 20_000)).blocks)).toContain(
      `<@${owner}> · stopped sharing it with <@${bob}>`,
    );
  }, 60_000);

  it("a node's crafted headers stay behind the proxy; X-Forwarded-* are the proxy's; a redirect out of the cluster is refused", async () => {
    const s = await session(linkIn(await press(owner, idA)));
    expect(s.path).toMatch(new RegExp(`^/ui/${idA}/${owner}\\.\\d+\\.[0-9a-f]{64}/web/8000/$`));
    const page = await fetch(base + s.path, { headers: { cookie: s.cookie } });
    expect(page.status).toBe(200);
    const names = [...page.headers.keys()];
    for (const gone of [
      'set-cookie',
      'service-worker-allowed',
      'clear-site-data',
      'refresh',
      'strict-transport-security',
      'x-hop',
      'proxy-authenticate',
      'trailer',
    ])
      expect(names, gone).not.toContain(gone);
    // Connection and Keep-Alive are the bot's own (its server keeps the connection alive), not the node's.
    expect(page.headers.get('connection') ?? '').not.toMatch(/x-hop/i);
    expect(page.headers.get('keep-alive') ?? '').not.toContain('max=7');
    expect(page.headers.get('x-crafted')).toBe('kept');
    expect(page.headers.get('content-security-policy')).toBe(
      'sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads',
    );
    expect(await page.text()).toContain(`href="${s.path}static/style.css"`);

    const seen = await (
      await fetch(`${base}${s.path}headers`, {
        headers: {
          'x-forwarded-for': '6.6.6.6',
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'gopher',
          'x-forwarded-prefix': '/evil',
          forwarded: 'for=6.6.6.6',
          cookie: s.cookie,
        },
      })
    ).text();
    expect(seen).toContain(`x-forwarded-host: 127.0.0.1:${new URL(base).port}\n`);
    expect(seen).toContain('x-forwarded-proto: http\n');
    expect(seen).toContain(`x-forwarded-prefix: ${s.path.replace(/\/$/, '')}\n`);
    expect(seen).toMatch(/^x-forwarded-for: (::ffff:)?127\.0\.0\.1$/m);
    expect(seen).not.toMatch(/6\.6\.6\.6|evil|gopher|^cookie:|^forwarded:/m);

    const out = await fetch(`${base}${s.path}redirect-out`, { redirect: 'manual' });
    expect(out.status).toBe(502);
    expect(out.headers.get('location')).toBeNull();
    expect(await out.text()).toContain('redirected outside its cluster');
    const inside = await fetch(`${base}${s.path}redirect-in`, { redirect: 'manual' });
    expect(inside.headers.get('location')).toBe(`${s.path}api`);

    // An upgrade to anything but a WebSocket gets a clear 501, not a dropped connection or a 502.
    const answer = await rawRequest(
      new URL(base).port,
      `GET ${s.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 501 /);
  }, 60_000);

  it('an endless HTML page streams through without growing the bot', async () => {
    const s = await session(linkIn(await press(owner, idA)));
    const rss = () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${h.bot.child.pid}/status`, 'utf8'))![1]) * 1024;
    const res = await fetch(`${base}${s.path}endless`, { headers: { cookie: s.cookie } });
    expect(res.headers.get('content-type')).toBe('text/html');
    const reader = res.body!.getReader();
    let read = 0;
    let warm = 0;
    let peak = 0;
    let tail = '';
    while (read < 512 * 2 ** 20) {
      const { value } = await reader.read();
      read += value!.length;
      if (!warm && read > 16 * 2 ** 20) warm = rss();
      if (warm) peak = Math.max(peak, rss());
      tail = (tail + Buffer.from(value!).toString('latin1')).slice(-4096);
    }
    await reader.cancel();
    // Still rewritten this far in: the proxy streams it, it has not given up on it.
    expect(tail).toContain(`<a href="${s.path}static/x">`);
    expect(tail).not.toContain('<a href="/static/x">');
    console.log(`endless HTML: read ${read >> 20} MiB, bot RSS after 16 MiB ${warm >> 20} MiB, peak ${peak >> 20} MiB`);
    expect(peak - warm).toBeLessThan(64 * 2 ** 20);
  }, 180_000);
});

function rawRequest(port: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (c) => (out += c.toString('latin1')));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}
