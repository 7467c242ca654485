#!/usr/bin/env bash
# Starts Debian's docker-registry (distribution) on 127.0.0.1 for a single machine's Docker hosts: Docker
# allows plain HTTP to loopback registries, so no engine needs a daemon change (other machines need TLS and
# REGISTRY_URL pointing at a registry they trust). Idempotent; prints REGISTRY_URL=127.0.0.1:PORT.
#
#   bash scripts/registry.sh          start it (storage in $REGISTRY_ROOT, default /var/lib/clusterbot-registry)
#   bash scripts/registry.sh stop
set -euo pipefail

ROOT="${REGISTRY_ROOT:-/var/lib/clusterbot-registry}"
PORT="${REGISTRY_PORT:-5001}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log() { printf '\033[1m[registry]\033[0m %s\n' "$*" >&2; }
up() { curl -sf --max-time 2 "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1; }

if [ "${1:-}" = stop ]; then
  as_root pkill -f "docker-registry serve $ROOT/config.yml" || true
  log "stopped"
  exit 0
fi
command -v docker-registry >/dev/null || { log "docker-registry is not installed (bash scripts/setup.sh installs it)"; exit 1; }
if ! up; then
  as_root mkdir -p "$ROOT/data"
  as_root tee "$ROOT/config.yml" >/dev/null <<CONF
version: 0.1
storage:
  filesystem:
    rootdirectory: $ROOT/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
log:
  level: warn
CONF
  log "starting docker-registry on 127.0.0.1:$PORT"
  as_root bash "$(dirname "$0")/detach.sh" "$ROOT/registry.log" docker-registry serve "$ROOT/config.yml"
  for _ in $(seq 1 50); do up && break; sleep 0.2; done
  up || { as_root tail -20 "$ROOT/registry.log" >&2; log "the registry did not start"; exit 1; }
fi
echo "REGISTRY_URL=127.0.0.1:$PORT"
