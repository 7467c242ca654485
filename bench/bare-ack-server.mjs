/**
 * The ack bench's floor: a bare Node HTTP server that reads the body, checks Slack's signature and answers 200.
 * Plain JavaScript, so it runs in the same runtime as the clusterbot it is compared with (built JS under plain node,
 * or source under tsx). SLACK_SIGNING_SECRET and PORT from the environment.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

const secret = process.env.SLACK_SIGNING_SECRET;
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['x-slack-request-timestamp'] ?? '');
      const given = Buffer.from(String(req.headers['x-slack-signature'] ?? ''));
      const want = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`);
      const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
      if (!fresh || given.length !== want.length || !timingSafeEqual(given, want)) return res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"response_type":"ephemeral","text":"ok"}');
    });
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
// Exit through process.exit so a preloaded probe's 'exit' handler runs.
process.on('SIGTERM', () => process.exit(0));
