#!/usr/bin/env bash
# Fills the build context for the kafka image.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
# Resolves pom.xml (pinned Kafka version) from Maven Central with checksum verification (mvn -C),
# copies the runtime jars to <context-dir>/kafka/libs and checks every jar against libs.sha256.
# Needs on the host: mvn + a JDK, sha256sum.
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$CTX" "$CACHE/m2"
CTX=$(cd "$CTX" && pwd); CACHE=$(cd "$CACHE" && pwd)

rm -rf "$CTX/kafka"
mkdir -p "$CTX/kafka/libs"
echo "prepare(kafka): resolving Kafka jars (Maven Central, cache $CACHE/m2)" >&2
mvn -B -q -C -ntp -Dmaven.repo.local="$CACHE/m2" -f "$HERE/pom.xml" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$CTX/kafka/libs" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
if [ -f "$HERE/libs.sha256" ]; then
  (cd "$CTX/kafka/libs" && sha256sum -c --quiet "$HERE/libs.sha256")
  extra=$(comm -13 <(awk '{print $2}' "$HERE/libs.sha256" | sort) <(ls "$CTX/kafka/libs" | sort))
  [ -z "$extra" ] || { echo "prepare(kafka): unpinned jars resolved: $extra" >&2; exit 1; }
fi
cp -r "$HERE/files/." "$CTX/"
echo "prepare(kafka): context ready in $CTX" >&2
