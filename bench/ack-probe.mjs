/**
 * Preloaded (`node --import ./bench/ack-probe.mjs`) into a server the ack bench measures, from source or built: records
 * when each HTTP request reached each phase (socket accepted, headers parsed, body read, response flushed), every
 * event-loop stall over 5 ms and every GC pause, and writes them as JSON to ACK_PROBE_OUT when the process exits.
 * Measurement only: it changes nothing the server does.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { PerformanceObserver, performance } from 'node:perf_hooks';

const out = process.env.ACK_PROBE_OUT;
const now = () => performance.timeOrigin + performance.now();
const requests = [];
const stalls = [];
const gcs = [];

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, ...args) {
  if (event === 'connection') args[0].probeAcceptedAt = now();
  if (event === 'request') {
    const [req, res] = args;
    const r = { url: req.url, accepted: req.socket.probeAcceptedAt, headers: now() };
    req.on('end', () => (r.body = now()));
    res.on('finish', () => (r.acked = now()));
    if (req.method === 'POST') requests.push(r);
  }
  return emit.call(this, event, ...args);
};

// A timer every 2 ms: how late it fires is how long the loop was busy with something else.
let expected = now() + 2;
setInterval(() => {
  const t = now();
  if (t - expected > 5) stalls.push({ at: expected, ms: t - expected });
  expected = t + 2;
}, 2).unref();

new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    gcs.push({ at: performance.timeOrigin + e.startTime, ms: e.duration, kind: e.detail?.kind });
}).observe({ entryTypes: ['gc'] });

/** What was recorded so far, for a process that imports this module itself. */
export const probeData = () => ({ requests, stalls, gcs });

if (out)
  process.on('exit', () =>
    writeFileSync(
      out,
      JSON.stringify({
        requests,
        stalls,
        gcs,
        clock: { wall: now(), monoUs: Number(process.hrtime.bigint() / 1000n) },
      }),
    ),
  );
