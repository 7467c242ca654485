#!/usr/bin/env bash
# Starts a second Docker Engine on this machine as "host B" for the many-hosts tests and benchmarks:
# its own data-root, exec-root, pidfile, cgroup parent and containerd (namespace moby-b), its own default
# bridge (cb-b0, 172.31.254.0/24), no iptables rules (so it never touches the rules of the machine's main
# engine; published ports go through docker-proxy), and its API only on 127.0.0.1 with mutual TLS from
# certificates made here.
#
# Not `--bridge none`: a daemon started so deletes the interface docker0 on the way up (moby's
# removeDefaultBridgeInterface), and docker0 is the main engine's: its builds and default-network
# containers would lose their network.
#
#   bash scripts/engine-b.sh          start it (idempotent) and print the settings that reach it
#   bash scripts/engine-b.sh stop     stop it (its data stays) and take its bridges and their routes off the machine
#   bash scripts/engine-b.sh kill     SIGKILL its dockerd (a host that dies; `start` brings it back)
#   bash scripts/engine-b.sh status   print how to reach it and ENGINE_B_STATE=running, stopped or killed; starts nothing
#
# Prints, for the caller to eval or copy:
#   ENGINE_B_URL=https://127.0.0.1:2376  ENGINE_B_TLS_DIR=<dir with ca.pem, cert.pem, key.pem>
#
# ENGINE_NAME=c starts another, independent engine "C" the same way (root /var/lib/clusterbot-engine-c, run dir
# /var/run/clusterbot-engine-c, API on 127.0.0.1:2377, bridge cb-c0 on 172.31.253.0/24, containerd namespace
# moby-c, its own certificates) and prints ENGINE_C_URL and ENGINE_C_TLS_DIR: the host-death test kills and
# restarts it without touching B, which other tests use meanwhile.
set -euo pipefail

NAME="${ENGINE_NAME:-b}"
case "$NAME" in
  b) DEFAULT_PORT=2376 BRIDGE_CIDR=172.31.254.1/24 ;;
  c) DEFAULT_PORT=2377 BRIDGE_CIDR=172.31.253.1/24 ;;
  *) echo "ENGINE_NAME must be b or c" >&2; exit 2 ;;
esac
UPPER="$(printf %s "$NAME" | tr a-z A-Z)"
ROOT_VAR="ENGINE_${UPPER}_ROOT" PORT_VAR="ENGINE_${UPPER}_PORT" CLIENT_VAR="ENGINE_${UPPER}_CLIENT_DIR"
ROOT="${!ROOT_VAR:-/var/lib/clusterbot-engine-$NAME}"
PORT="${!PORT_VAR:-$DEFAULT_PORT}"
RUN=/var/run/clusterbot-engine-$NAME
BRIDGE=cb-${NAME}0
TLS="$ROOT/tls"
CLIENT_DIR="${!CLIENT_VAR:-/tmp/clusterbot-engine-$NAME-tls}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log() { printf '\033[1m[engine-%s]\033[0m %s\n' "$NAME" "$*" >&2; }

# The API on its unix socket: no certificates needed, and it answers `stop` before the TLS directory exists.
api() { as_root curl -sf --max-time 5 --unix-socket "$RUN/docker.sock" "http://engine$1"; }
running() { [ -f "$RUN.pid" ] && kill -0 "$(cat "$RUN.pid")" 2>/dev/null; }

if [ "${1:-}" = status ]; then
  if running; then state=running; elif [ -f "$RUN.pid" ]; then state=killed; else state=stopped; fi
  echo "ENGINE_${UPPER}_URL=https://127.0.0.1:$PORT"
  echo "ENGINE_${UPPER}_TLS_DIR=$CLIENT_DIR"
  echo "ENGINE_${UPPER}_STATE=$state"
  exit 0
fi
if [ "${1:-}" = stop ]; then
  # A killed engine (`kill`) left its containers running under their shims: started again, it stops them itself.
  if [ -f "$RUN.pid" ] && ! running; then log "was killed: starting it to stop it"; ENGINE_NAME="$NAME" bash "$0" >/dev/null; fi
  # The Linux bridges of this engine's networks, asked before it goes: dockerd leaves them (and the routes to their
  # subnets) in the kernel when it stops, and the machine's main engine gives a cluster network the same subnet later
  # on its own bridge, with two routes to one subnet (the old one first), so that cluster's ports cannot be reached.
  bridges="$BRIDGE"
  if running; then
    nets="$(api /networks)" || { log "its API did not answer: the bridges of its networks stay"; nets='[]'; }
    bridges="$bridges $(printf %s "$nets" | node -e '
      for (const n of JSON.parse(require("fs").readFileSync(0, "utf8")))
        if (n.Driver === "bridge") console.log((n.Options || {})["com.docker.network.bridge.name"] || "br-" + n.Id.slice(0, 12));
    ')"
    as_root kill "$(cat "$RUN.pid")" 2>/dev/null || true
    # It stops its containers first (10 s each at most, at once), then its containerd.
    for _ in $(seq 1 150); do running || break; sleep 0.2; done
    if running; then log "dockerd $(cat "$RUN.pid") did not stop within 30 s"; exit 1; fi
  fi
  for br in $bridges; do
    if ip link show "$br" >/dev/null 2>&1; then as_root ip link delete "$br"; fi
  done
  # The FORWARD rule for bridged frames (see start), once neither engine runs.
  other=/var/run/clusterbot-engine-$([ "$NAME" = b ] && echo c || echo b).pid
  if ! { [ -f "$other" ] && kill -0 "$(cat "$other")" 2>/dev/null; }; then
    while as_root iptables -D DOCKER-USER -m physdev --physdev-is-bridged -j ACCEPT 2>/dev/null; do :; done
  fi
  log "stopped"
  exit 0
fi
if [ "${1:-}" = kill ]; then
  # Only this engine's dockerd, by its own pidfile: its containerd and containers are left as a crash leaves them.
  if [ -f "$RUN.pid" ]; then
    pid="$(cat "$RUN.pid")"
    as_root kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  log "killed"
  exit 0
fi

# Certificates: a CA, a server certificate for 127.0.0.1/localhost and a client certificate, made once.
# They live in a root-owned directory; the client side is copied readable for the user running the tests.
if ! as_root test -f "$TLS/cert.pem"; then
  log "making TLS certificates in $TLS"
  as_root mkdir -p "$TLS"
  as_root bash -c "cd '$TLS' && umask 077 &&
    openssl genrsa -out ca-key.pem 2048 2>/dev/null &&
    openssl req -x509 -new -key ca-key.pem -days 3650 -subj '/CN=clusterbot test CA' -out ca.pem &&
    openssl genrsa -out server-key.pem 2048 2>/dev/null &&
    openssl req -new -key server-key.pem -subj '/CN=localhost' -out server.csr &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile server.ext -out server-cert.pem 2>/dev/null &&
    openssl genrsa -out key.pem 2048 2>/dev/null &&
    openssl req -new -key key.pem -subj '/CN=clusterbot' -out client.csr &&
    printf 'extendedKeyUsage=clientAuth\n' > client.ext &&
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile client.ext -out cert.pem 2>/dev/null &&
    rm -f server.csr client.csr server.ext client.ext"
fi
mkdir -p "$CLIENT_DIR"
# Replaced by rename, never rewritten in place: tests of other files read them while this runs again (an empty
# cert.pem for an instant failed a TLS handshake with "PEM routines::no start line").
for f in ca.pem cert.pem key.pem; do
  as_root cat "$TLS/$f" > "$CLIENT_DIR/.$f.$$"
  [ "$f" = key.pem ] && chmod 600 "$CLIENT_DIR/.$f.$$"
  mv -f "$CLIENT_DIR/.$f.$$" "$CLIENT_DIR/$f"
done

curl_b() { curl -sf --max-time 3 --cacert "$CLIENT_DIR/ca.pem" --cert "$CLIENT_DIR/cert.pem" --key "$CLIENT_DIR/key.pem" "https://127.0.0.1:$PORT$1"; }

if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  as_root ip link add "$BRIDGE" type bridge
  as_root ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  as_root ip link set "$BRIDGE" up
fi
# Without iptables of its own, the frames between containers on one of B's bridges still pass the machine's
# FORWARD chain (br_netfilter), whose policy the main engine sets to DROP: a multi-node cluster on B could not talk
# to itself. Bridged frames (same bridge) are accepted as the main engine accepts its own; routed traffic between
# bridges is not bridged and stays isolated by the main engine's rules.
if as_root iptables -L DOCKER-USER >/dev/null 2>&1 && ! as_root iptables -C DOCKER-USER -m physdev --physdev-is-bridged -j ACCEPT 2>/dev/null; then
  as_root iptables -I DOCKER-USER -m physdev --physdev-is-bridged -j ACCEPT
fi
if ! curl_b /_ping >/dev/null 2>&1; then
  log "starting a second dockerd on 127.0.0.1:$PORT (data in $ROOT)"
  # A daemon killed earlier (`kill`) leaves its pidfile, and dockerd refuses to start while it exists.
  if [ -f "$RUN.pid" ] && ! kill -0 "$(cat "$RUN.pid")" 2>/dev/null; then as_root rm -f "$RUN.pid"; fi
  as_root mkdir -p "$ROOT/data" "$RUN"
  as_root bash "$(dirname "$0")/detach.sh" "$ROOT/dockerd.log" dockerd \
    --data-root "$ROOT/data" --exec-root "$RUN" --pidfile "$RUN.pid" \
    --host "unix://$RUN/docker.sock" --host "tcp://127.0.0.1:$PORT" \
    --tlsverify --tlscacert "$TLS/ca.pem" --tlscert "$TLS/server-cert.pem" --tlskey "$TLS/server-key.pem" \
    --containerd-namespace "moby-$NAME" --containerd-plugins-namespace "plugins-moby-$NAME" \
    --cgroup-parent "/clusterbot-engine-$NAME" --bridge "$BRIDGE" --iptables=false --ip-masq=false
  for _ in $(seq 1 100); do curl_b /_ping >/dev/null 2>&1 && break; sleep 0.3; done
  curl_b /_ping >/dev/null || { as_root tail -20 "$ROOT/dockerd.log" >&2; log "the second dockerd did not start"; exit 1; }
fi
log "ready: $(curl_b /version | sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -1)"
echo "ENGINE_${UPPER}_URL=https://127.0.0.1:$PORT"
echo "ENGINE_${UPPER}_TLS_DIR=$CLIENT_DIR"
