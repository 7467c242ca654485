#!/usr/bin/env bash
# Fills the build context for the hbase image.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
# Resolves pom.xml (pinned versions) from Maven Central with checksum verification (mvn -C), copies the
# runtime jars to <context-dir>/hbase/lib (without reload4j: HBase 2.5 logs via log4j2), extracts the web UI
# resources (hbase-webapps/) from the hbase-server tests jar (the main jar has only the compiled JSPs) and
# checks every jar against lib.sha256.
# Needs on the host: mvn + a JDK, sha256sum, python3 (zip extraction).
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HBASE_VERSION=2.5.13-hadoop3
mkdir -p "$CTX" "$CACHE/m2"
CTX=$(cd "$CTX" && pwd); CACHE=$(cd "$CACHE" && pwd)
MVN=(mvn -B -q -C -ntp -Dmaven.repo.local="$CACHE/m2" -f "$HERE/pom.xml")
mvnq() { "${MVN[@]}" "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; }   # mvn -q still prints colour codes

rm -rf "$CTX/hbase"
mkdir -p "$CTX/hbase/lib" "$CTX/hbase/webapps" "$CTX/.tmp"
echo "prepare(hbase): resolving HBase $HBASE_VERSION jars (Maven Central, cache $CACHE/m2)" >&2
mvnq dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$CTX/hbase/lib" \
  -DexcludeArtifactIds=slf4j-reload4j,reload4j,slf4j-log4j12,log4j
mvnq dependency:copy -Dartifact="org.apache.hbase:hbase-server:$HBASE_VERSION:jar:tests" -DoutputDirectory="$CTX/.tmp"
# JRuby goes to lib/ruby/: only the shell puts it on its classpath, and FIRST (joni/jcodings in lib/
# shadow JRuby's own copies and break rubygems: "undefined method `load_defaults' for Gem::Specification")
mkdir -p "$CTX/hbase/lib/ruby"; mv "$CTX/hbase/lib/"jruby-complete-*.jar "$CTX/hbase/lib/ruby/"
rm -f "$CTX/hbase/lib/"netty-*-osx-*.jar "$CTX/hbase/lib/"netty-*-linux-aarch_64.jar "$CTX/hbase/lib/"netty-*-linux-riscv64.jar

if [ -f "$HERE/lib.sha256" ]; then
  (cd "$CTX/hbase/lib" && sha256sum -c --quiet "$HERE/lib.sha256")
  extra=$(comm -13 <(awk '{print $2}' "$HERE/lib.sha256" | sort) <(cd "$CTX/hbase/lib" && ls *.jar ruby/*.jar | sort))
  [ -z "$extra" ] || { echo "prepare(hbase): unpinned jars resolved: $extra" >&2; exit 1; }
fi

python3 - "$CTX/.tmp/hbase-server-$HBASE_VERSION-tests.jar" "$CTX/hbase/webapps" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    names = [n for n in z.namelist() if n.startswith("hbase-webapps/")]
    z.extractall(dst, names)
print(f"prepare(hbase): extracted {len(names)} hbase-webapps entries", file=sys.stderr)
PY
rm -rf "$CTX/.tmp"
cp -r "$HERE/files/." "$CTX/"
echo "prepare(hbase): context ready in $CTX" >&2
