#!/usr/bin/env bash
# Starts a daemon in the background, in a session of its own, its output in LOG (for engine-b.sh and registry.sh):
#   bash scripts/detach.sh LOG COMMAND [ARG...]
# It keeps nothing its caller had open: under `flock LOCK bash scripts/test.sh …` a descriptor it inherited would
# hold the lock for as long as the daemon runs.
set -euo pipefail
log="$1"
shift
# 255 is bash's own copy of this script, closed on exec.
for f in /proc/$$/fd/*; do
  f="${f##*/}"
  if [ "$f" -gt 2 ] && [ "$f" != 255 ] && [ -e "/proc/$$/fd/$f" ]; then eval "exec $f>&-"; fi
done
setsid "$@" >"$log" 2>&1 </dev/null &
