#!/usr/bin/env bash
# Fills the build context for the allinone image (parent: the hadoop image): Spark, HBase and Solr are laid out
# by their own recipes' prepare.sh (same pins, same checks), plus the allinone supervisor script.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$CTX"
bash "$HERE/../spark/prepare.sh" "$CTX" "$CACHE"
bash "$HERE/../hbase/prepare.sh" "$CTX" "$CACHE"
bash "$HERE/../solr/prepare.sh" "$CTX" "$CACHE"
rm -rf "$CTX/clusterbot"
cp -r "$HERE/files/." "$CTX/"
echo "prepare(allinone): context ready in $CTX" >&2
