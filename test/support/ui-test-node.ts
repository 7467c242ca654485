import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A template whose one node serves crafted web pages on a port marked `ui: true` (a raw-socket Python server: the
 * base image's python3-minimal has no http.server), so tests can aim at the proxy what a hostile or broken UI
 * sends: headers that must not pass, a redirect out of the cluster, endless HTML, a WebSocket.
 *
 * GET /               an HTML page with Set-Cookie, Service-Worker-Allowed, Clear-Site-Data, Refresh, HSTS and
 *                     hop-by-hop headers (Connection naming X-Hop, X-Hop, Keep-Alive, Proxy-Authenticate, Trailer),
 *                     plus X-Crafted (which passes); its script calls its own API and opens a WebSocket
 * GET /static/*       its stylesheet and script
 * GET /api            {"node": "<hostname>"}
 * GET /headers        the request headers the node received, one `name: value` a line
 * GET /redirect-out   302 to //evil.example/x;  GET /redirect-in  302 to /api
 * GET /endless        text/html that never ends
 * GET /ws             a WebSocket that answers each text frame with "echo:<text>" (its 101 tries a Set-Cookie too)
 */
const server = String.raw`
import socket, threading, hashlib, base64

NODE = '{{node.hostname}}'
GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
PAGE = ('<!doctype html><html><head><title>crafted ui</title><link rel="stylesheet" href="/static/style.css"></head>'
        '<body><h1 id="title">crafted ui of ' + NODE + '</h1><a id="api" href="/api">api</a>'
        '<script src="/static/app.js"></script></body></html>')
STYLE = 'h1 { color: rgb(1, 2, 3); }'
SCRIPT = '''
fetch('api').then(function (r) { return r.text(); }).then(function (t) { document.body.setAttribute('data-api', t); },
  function (e) { document.body.setAttribute('data-api', 'failed: ' + e); });
var ws = new WebSocket(location.href.replace(/^http/, 'ws').replace(/[?#].*$/, '').replace(/[^/]*$/, '') + 'ws');
ws.onopen = function () { ws.send('ping'); };
ws.onmessage = function (e) { document.body.setAttribute('data-ws', e.data); };
ws.onerror = function () { document.body.setAttribute('data-ws', 'error'); };
ws.onclose = function () { document.body.setAttribute('data-ws-closed', 'yes'); };
'''

def handle(conn):
    try:
        f = conn.makefile('rb')
        line = f.readline().decode('latin1').strip()
        if not line:
            return
        method, target, _ = line.split(' ', 2)
        headers = []
        while True:
            h = f.readline().decode('latin1')
            if h in ('\r\n', '\n', ''):
                break
            k, v = h.split(':', 1)
            headers.append((k.strip().lower(), v.strip()))
        hd = dict(headers)
        n = int(hd.get('content-length', '0') or '0')
        if n:
            f.read(n)
        path = target.split('?')[0]

        def send(status, ctype, data, extra=()):
            head = 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n' % (status, ctype, len(data))
            for k, v in extra:
                head += '%s: %s\r\n' % (k, v)
            conn.sendall(head.encode('latin1') + b'\r\n' + data)

        if path == '/':
            send('200 OK', 'text/html; charset=utf-8', PAGE.encode(), [
                ('Set-Cookie', 'crafted=1; Path=/'), ('Service-Worker-Allowed', '/'), ('Clear-Site-Data', '"*"'),
                ('Refresh', '5; url=//evil.example/'), ('Strict-Transport-Security', 'max-age=31536000; includeSubDomains'),
                ('Connection', 'close, X-Hop'), ('X-Hop', 'secret'), ('Keep-Alive', 'timeout=99, max=7'),
                ('Proxy-Authenticate', 'Basic realm="x"'), ('Trailer', 'X-Trail'), ('X-Crafted', 'kept')])
        elif path == '/static/style.css':
            send('200 OK', 'text/css', STYLE.encode())
        elif path == '/static/app.js':
            send('200 OK', 'application/javascript', SCRIPT.encode())
        elif path == '/api':
            send('200 OK', 'application/json', ('{"node": "%s"}' % NODE).encode())
        elif path == '/headers':
            send('200 OK', 'text/plain', ''.join('%s: %s\n' % kv for kv in headers).encode('latin1'))
        elif path == '/redirect-out':
            send('302 Found', 'text/plain', b'away', [('Location', '//evil.example/x')])
        elif path == '/redirect-in':
            send('302 Found', 'text/plain', b'here', [('Location', '/api')])
        elif path == '/endless':
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><body>')
            block = (b'<p><a href="/static/x">' + b'x' * 900 + b'</a></p>\n') * 64
            while True:
                conn.sendall(block)
        elif path == '/ws' and hd.get('upgrade', '').lower() == 'websocket':
            accept = base64.b64encode(hashlib.sha1((hd['sec-websocket-key'] + GUID).encode()).digest()).decode()
            conn.sendall(('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                          'Sec-WebSocket-Accept: %s\r\nSet-Cookie: ws=1; Path=/\r\n\r\n' % accept).encode())
            while True:
                h = f.read(2)
                if len(h) < 2:
                    return
                op, ln = h[0] & 0x0f, h[1] & 0x7f
                if ln == 126:
                    ln = int.from_bytes(f.read(2), 'big')
                elif ln == 127:
                    ln = int.from_bytes(f.read(8), 'big')
                mask = f.read(4) if h[1] & 0x80 else b'\0\0\0\0'
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(f.read(ln)))
                if op == 8:
                    return
                reply = b'echo:' + data[:100]
                conn.sendall(bytes([0x81, len(reply)]) + reply)
        else:
            send('404 Not Found', 'text/plain', b'no such page')
    except Exception:
        pass
    finally:
        conn.close()

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 8000))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
`;

export const uiTestTemplate = `
name: uitest
title: UI test
version: "1"
description: One node serving crafted web pages (tests of the web UI proxy)
sizeMeans: nodes
sizes: { min: 1, max: 1, default: 1 }
roles:
  web:
    image: base
    count: 1
    hostname: web
    resources: { cpus: 0.25, memoryMiB: 128 }
    command: ["python3", "/srv/ui.py"]
    ports:
      ui: { port: 8000, ui: true, label: Crafted UI, url: "http://{{host}}:{{port}}" }
    files:
      /srv/ui.py: ${JSON.stringify(server)}
    readiness:
      exec: ["sh", "-c", "curl -sf http://localhost:8000/api"]
      timeoutSeconds: 60
      intervalSeconds: 0.2
`;

/** A templates directory with only the crafted template, for TEMPLATES_DIR. */
export function uiTestTemplatesDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clusterbot-uitest-'));
  writeFileSync(path.join(dir, 'uitest.yaml'), uiTestTemplate);
  return dir;
}
