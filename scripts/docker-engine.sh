#!/usr/bin/env bash
# Starts the machine's Docker Engine (Debian's docker.io, as root, without systemd) with the configuration clusterbot
# needs, and restarts a running one only when its configuration changed (a restart stops every container on it):
#   "experimental": true   in /etc/docker/daemon.json: `docker checkpoint` (memory checkpoints, CRIU) exists only then.
# Other keys of an existing daemon.json are kept.
#
#   bash scripts/docker-engine.sh
#
# For a test on a throwaway engine, everything that names the main one can be overridden:
#   DOCKERD_CONFIG (/etc/docker/daemon.json)  DOCKERD_PIDFILE (/var/run/docker.pid)  DOCKERD_LOG (/var/log/dockerd.log)
#   DOCKERD_ARGS (extra dockerd arguments: --data-root, --exec-root, --host ...)  DOCKER_HOST (how the client reaches it)
set -euo pipefail
# dockerd keeps every descriptor it inherits (under `flock LOCK`, the lock): none goes with it.
for f in /proc/$$/fd/*; do
  f="${f##*/}"
  if [ "$f" -gt 2 ] && [ "$f" != 255 ] && [ -e "/proc/$$/fd/$f" ]; then eval "exec $f>&-"; fi
done
config="${DOCKERD_CONFIG:-/etc/docker/daemon.json}"
pidfile="${DOCKERD_PIDFILE:-/var/run/docker.pid}"
logfile="${DOCKERD_LOG:-/var/log/dockerd.log}"
read -r -a extra <<<"${DOCKERD_ARGS:-}"
log() { printf '\033[1m[docker-engine]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The configuration: experimental on, merged into what is there (a daemon.json that is not JSON stops here, named,
# rather than after dockerd refused it).
as_root node -e '
  const fs = require("fs"), path = require("path"), f = process.argv[1];
  let c = {};
  try { c = JSON.parse(fs.readFileSync(f, "utf8")); } catch (e) {
    if (e.code !== "ENOENT") { console.error(`${f}: ${e.message}`); process.exit(1); }
  }
  if (c.experimental === true) process.exit(0);
  c.experimental = true;
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f + ".tmp", JSON.stringify(c, null, 2) + "\n");
  fs.renameSync(f + ".tmp", f);
  console.error(`set "experimental": true in ${f}`);
' "$config"

config_args=()
[ "$config" != /etc/docker/daemon.json ] && config_args+=(--config-file "$config")
[ "$pidfile" != /var/run/docker.pid ] && config_args+=(--pidfile "$pidfile")

pidfiles() { printf '%s\n' "$pidfile"; [ -z "${DOCKERD_ARGS:-}" ] && echo /var/run/docker/containerd/containerd.pid; true; }
start() {
  # A daemon killed earlier leaves pid files that stop the next one.
  while read -r f; do
    if [ -f "$f" ] && ! kill -0 "$(cat "$f" 2>/dev/null)" 2>/dev/null; then as_root rm -f "$f"; fi
  done < <(pidfiles)
  log "starting dockerd"
  as_root bash -c 'setsid dockerd "$@" >>"$0" 2>&1 < /dev/null &' "$logfile" "${config_args[@]}" "${extra[@]}"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { as_root tail -20 "$logfile" >&2; log "dockerd did not start"; exit 1; }
}

if ! docker info >/dev/null 2>&1; then
  start
elif [ "$(docker info --format '{{.ExperimentalBuild}}')" != true ]; then
  # Running with an older configuration: the one case where this restarts it. Experimental is not among what
  # dockerd reloads on SIGHUP.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker 2>/dev/null; then
    log "restarting docker (systemd) for its new configuration"
    as_root systemctl restart docker
  else
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || { log "dockerd answers but $pidfile names no live process: restart it by hand"; exit 1; }
    log "restarting dockerd ($pid) for its new configuration: its running containers stop"
    as_root kill -TERM "$pid"
    # dockerd stops its containers first (15 s at most each, at once), then its containerd.
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "dockerd $pid did not stop within 60 s"; exit 1; fi
    start
  fi
  [ "$(docker info --format '{{.ExperimentalBuild}}')" = true ] || { log "dockerd runs without experimental features after a restart"; exit 1; }
fi
