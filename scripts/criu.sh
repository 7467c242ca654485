#!/usr/bin/env bash
# Provides CRIU >= 4.2 for memory checkpoints (`docker checkpoint`), on Debian 12, and the options runc gives it.
#
# Why a build: bookworm's CRIU 3.17 fails `criu check` on kernels >= 6.13 ("vdso: Unexpected rt vDSO area bounds"),
# trixie's 4.1.1 cannot dump a TCP socket on kernels >= 6.16 ("Can't get 1:16 opt"), and forky's 4.2.1 binary needs
# glibc 2.38. So the upstream release tarball, as Debian forky ships it (its orig tarball, checked against the sha256
# Debian publishes), is built here against bookworm's libraries: about 45 s of `make` on two cores, once per version.
# The binary is kept in /var/cache/clusterbot/criu/<version>/ (a fresh machine with that cache builds nothing).
#
# It replaces /usr/sbin/criu through dpkg-divert (Debian's 3.17 stays installed as /usr/sbin/criu.distrib, since
# Debian's runc depends on the package): runc finds `criu` on the PATH of containerd's shim, whatever that PATH is.
#
# /etc/criu/runc.conf is the only way to give CRIU options through Docker (its API forwards only "exit"):
#   tcp-established  a cluster's nodes hold TCP connections to each other; without it the dump refuses them
#                    ("Connected TCP socket"), or, when the dump has them, the restore does ("Connected TCP socket in image")
#   file-locks       Hadoop, HBase and others lock files in their data directories (else "Some file locks are hold")
#   skip-in-flight   a connection half-open in a listen queue at the cut is dropped instead of failing the dump
#
#   bash scripts/criu.sh             build (when not cached) and install; idempotent
#   bash scripts/criu.sh deps        install the build dependencies only (apt; setup.sh runs it before the build, which
#                                    it puts in the background)
#   bash scripts/criu.sh version     print the installed CRIU version, or nothing
set -euo pipefail

criu_version=4.2.1
criu_sha256=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9
cache="${CLUSTERBOT_CACHE_DIR:-/var/cache/clusterbot}/criu/$criu_version"
# Debian's pool keeps a file while a suite refers to it: forky (testing) today, later only snapshot.debian.org.
mirror="${CRIU_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
tarball_url="$mirror/pool/main/c/criu/criu_${criu_version}.orig.tar.xz"
build_deps=(build-essential pkgconf xz-utils libbsd-dev libcap-dev libgnutls28-dev libnet1-dev libnftables-dev libnl-3-dev
  libprotobuf-c-dev libprotobuf-dev protobuf-c-compiler protobuf-compiler uuid-dev)
# What the binary links against (installed without the -dev packages when the binary comes from the cache).
runtime_deps=(libbsd0 libcap2 libgnutls30 libnet1 libnftables1 libnl-3-200 libprotobuf-c1 libuuid1)

log() { printf '\033[1m[criu]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
installed_version() { /usr/sbin/criu --version 2>/dev/null | sed -n 's/^Version: //p'; }

need_pkg() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_runc_conf() {
  local want=$'tcp-established\nfile-locks\nskip-in-flight'
  if [ "$(cat /etc/criu/runc.conf 2>/dev/null)" != "$want" ]; then
    as_root mkdir -p /etc/criu
    printf '%s\n' "$want" | as_root tee /etc/criu/runc.conf.tmp >/dev/null
    as_root mv -f /etc/criu/runc.conf.tmp /etc/criu/runc.conf
    log "wrote /etc/criu/runc.conf"
  fi
}

build() {
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  log "building CRIU $criu_version from $tarball_url"
  curl -fsS --retry 3 -o "$work/criu.tar.xz" "$tarball_url" \
    || { log "could not download $tarball_url (forky may have moved on: set criu_version/criu_sha256 in scripts/criu.sh to its criu)"; return 1; }
  echo "$criu_sha256  $work/criu.tar.xz" | sha256sum -c --quiet - || { log "sha256 mismatch for $tarball_url"; return 1; }
  tar -C "$work" -xJf "$work/criu.tar.xz"
  local start=$SECONDS
  # Only the criu binary: no docs (asciidoc), no Python tools (crit, pycriu), no plugins.
  nice make -C "$work/criu-$criu_version" -j"$(nproc)" criu >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log" >&2; log "building CRIU failed"; return 1; }
  log "built CRIU $criu_version in $((SECONDS - start)) s"
  as_root mkdir -p "$cache"
  as_root install -m 0755 "$work/criu-$criu_version/criu/criu" "$cache/criu.tmp"
  as_root mv -f "$cache/criu.tmp" "$cache/criu"
}

install_binary() {
  as_root install -m 0755 "$cache/criu" /usr/local/sbin/criu
  if [ "$(dpkg-divert --truename /usr/sbin/criu)" = /usr/sbin/criu ]; then
    as_root dpkg-divert --quiet --local --rename --divert /usr/sbin/criu.distrib --add /usr/sbin/criu
  fi
  as_root ln -sfn /usr/local/sbin/criu /usr/sbin/criu
}

case "${1:-}" in
  version) installed_version; exit 0 ;;
  deps)
    if [ "$(installed_version)" != "$criu_version" ] && [ ! -x "$cache/criu" ]; then need_pkg "${build_deps[@]}"; fi
    need_pkg "${runtime_deps[@]}"
    exit 0 ;;
  "") ;;
  *) echo "usage: bash scripts/criu.sh [deps|version]" >&2; exit 2 ;;
esac

write_runc_conf
if [ "$(installed_version)" != "$criu_version" ]; then
  need_pkg "${runtime_deps[@]}"
  if [ ! -x "$cache/criu" ]; then
    need_pkg "${build_deps[@]}"
    build
  fi
  install_binary
  log "CRIU $(installed_version) is /usr/sbin/criu"
fi
# The host's kernel decides: a failing check is said here, and the product's per-host probe reports it too.
as_root /usr/sbin/criu check >/dev/null 2>&1 || log "warning: \`criu check\` fails on this machine ($(as_root /usr/sbin/criu check 2>&1 | head -1)); memory checkpoints will be reported unavailable"
