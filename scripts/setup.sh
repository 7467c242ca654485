#!/usr/bin/env bash
# Brings a fresh Debian 12 machine (root, no registry) to "clusterbot can run and be tested":
# Docker Engine, PostgreSQL, Redis, debootstrap, npm dependencies, the build, and the cluster images.
# Idempotent: every step checks first, so it is cheap on a machine that already has everything.
# Skip the image build with CLUSTERBOT_SKIP_IMAGES=1; pick recipes with CLUSTERBOT_IMAGES="zookeeper spark".
set -euo pipefail
cd "$(dirname "$0")/.."
# The daemons this starts (dockerd, PostgreSQL, Redis) keep every descriptor they inherit: run under
# `flock LOCK bash scripts/setup.sh`, they would hold LOCK for as long as they run. 255 is bash's copy of this script.
for f in /proc/$$/fd/*; do
  f="${f##*/}"
  if [ "$f" -gt 2 ] && [ "$f" != 255 ] && [ -e "/proc/$$/fd/$f" ]; then eval "exec $f>&-"; fi
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
need_pkg() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then log "apt-get update"; as_root apt-get update -qq; apt_updated=1; fi
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

need_pkg docker.io postgresql redis-server debootstrap ca-certificates curl openssl
# A private image registry (distribution) for image distribution between Docker hosts: scripts/registry.sh.
need_pkg docker-registry
# The big-data image recipes fetch pinned artifacts with Maven (Maven Central) and pip (PyPI) on the host.
command -v mvn >/dev/null 2>&1 || need_pkg maven
command -v javac >/dev/null 2>&1 || need_pkg openjdk-17-jdk-headless
command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 || need_pkg python3-pip
# promtool checks manifests/prometheus in the tests (Debian's prometheus package ships it).
command -v promtool >/dev/null 2>&1 || need_pkg prometheus
# The web UI tests drive Debian's chromium with playwright-core (no browser download): /usr/bin/chromium.
need_pkg chromium

# The S3 artifact store's tests run a real S3 server: moto's standalone server (PyPI), pinned. Installed for the
# `python3` on PATH (pyenv or Debian's); Debian's own python refuses root pip installs (PEP 668) unless told.
moto_version=5.2.5
if ! { command -v moto_server >/dev/null 2>&1 && [ "$(python3 -m pip show moto 2>/dev/null | sed -n 's/^Version: //p')" = "$moto_version" ]; }; then
  log "installing moto[server]==$moto_version (test S3 server)"
  export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
  python3 -m pip install --quiet "moto[server]==$moto_version" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "moto[server]==$moto_version"
fi

# moto does not check presigned-URL signatures or expiry, so the tests that S3 refuses expired and altered links run
# against the Versity S3 Gateway, a Go module built from source (a few minutes, once per version).
versitygw_version=v1.8.0
versitygw_dir=/opt/versitygw/$versitygw_version
build_versitygw() {
  if [ ! -x "$versitygw_dir/versitygw" ] || [ "$(readlink /usr/local/bin/versitygw 2>/dev/null)" != "$versitygw_dir/versitygw" ]; then
    if [ ! -x "$versitygw_dir/versitygw" ]; then
      command -v go >/dev/null 2>&1 || { log "go is needed to build versitygw (test S3 server); install Go 1.21 or newer (it fetches the toolchain versitygw needs)"; return 1; }
      log "building versitygw $versitygw_version (test S3 server)"
      as_root env GOBIN="$versitygw_dir" "$(command -v go)" install "github.com/versity/versitygw/cmd/versitygw@$versitygw_version"
    fi
    as_root ln -sfn "$versitygw_dir/versitygw" /usr/local/bin/versitygw
  fi
}
# A few minutes on a fresh machine: built in the background while the services start and the images build.
build_versitygw &
versitygw_pid=$!

# Memory checkpoints: CRIU >= 4.2 (built from source once per version, cached) and its options for runc. The build
# dependencies now (apt must not run twice at once), the build (about half a minute of both cores) in the background
# while the services start and the images build.
bash scripts/criu.sh deps
bash scripts/criu.sh &
criu_pid=$!

# Docker Engine with experimental features (docker checkpoint): started when it does not answer, restarted only when it
# runs without them (its configuration changed).
bash scripts/docker-engine.sh

# PostgreSQL: the Debian cluster, plus a clusterbot role and database (matching DATABASE_URL's default).
pg_version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_lsclusters -h | grep -q "^$pg_version main" || as_root pg_createcluster "$pg_version" main >/dev/null
  log "starting PostgreSQL $pg_version"
  as_root pg_ctlcluster "$pg_version" main start
fi
for _ in $(seq 1 30); do as_root su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break; sleep 1; done
as_root su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='clusterbot'\"" | grep -q 1 \
  || as_root su postgres -c "psql -qc \"create role clusterbot login createdb password 'clusterbot'\""
as_root su postgres -c "psql -qtAc \"select 1 from pg_database where datname='clusterbot'\"" | grep -q 1 \
  || as_root su postgres -c "createdb -O clusterbot clusterbot"

# Redis
if ! redis-cli ping >/dev/null 2>&1; then
  log "starting redis-server"
  as_root redis-server --daemonize yes --save '' --appendonly no >/dev/null
  for _ in $(seq 1 20); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

# Node dependencies and the build (npm ci only when the lockfile changed since the last install).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi
log "building"
npm run -s build

# Cluster images: built from recipes, cached by content (an unchanged recipe is never rebuilt).
if [ -z "${CLUSTERBOT_SKIP_IMAGES:-}" ]; then
  # By default, the images the templates use (a recipe no template uses yet is not built).
  images=${CLUSTERBOT_IMAGES:-$(sed -n 's/^ *image: *\([a-z0-9-]*\).*/\1/p' manifests/templates/*.yaml | sort -u)}
  # Two at a time: while one recipe's Docker build runs, the next one's downloads (one at a time) go on.
  # shellcheck disable=SC2086
  node dist/entrypoints/cli.js images build --jobs "${CLUSTERBOT_IMAGE_JOBS:-2}" $images
fi
wait "$versitygw_pid" || { log "building versitygw failed"; exit 1; }
wait "$criu_pid" || { log "providing CRIU failed"; exit 1; }
log "ready"
