#!/usr/bin/env bash
# Fills the build context for the hive image.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
# Resolves pom.xml (pinned versions) from Maven Central only (settings.xml) with checksum verification
# (mvn -C), copies the runtime jars to <context-dir>/hive/lib and checks every jar against lib.sha256.
# The metastore's schema scripts (scripts/metastore/upgrade/derby/*.sql, what schematool -initSchema runs)
# are in no jar: they come from the standalone metastore's bin tarball, which Maven Central serves as
# org.apache.hive:hive-standalone-metastore-server:4.0.1:tar.gz:bin (checked against a pinned sha256;
# only the Derby scripts are kept).
# Needs on the host: mvn + a JDK, sha256sum, tar.
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HIVE_VERSION=4.0.1
METASTORE_BIN_SHA256=ed96f577df0a4dc800648a7f941d832f42409f89fa4af10c9d7540c8a1f8e24b
mkdir -p "$CTX" "$CACHE/m2"
CTX=$(cd "$CTX" && pwd); CACHE=$(cd "$CACHE" && pwd)
MVN=(mvn -B -q -C -ntp -s "$HERE/settings.xml" -Dmaven.repo.local="$CACHE/m2" -f "$HERE/pom.xml")
mvnq() { "${MVN[@]}" "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; }   # mvn -q still prints colour codes

rm -rf "$CTX/hive"
mkdir -p "$CTX/hive/lib" "$CTX/hive/scripts/metastore/upgrade" "$CTX/.tmp"
echo "prepare(hive): resolving Hive $HIVE_VERSION jars (Maven Central, cache $CACHE/m2)" >&2
mvnq dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$CTX/hive/lib"
mvnq dependency:copy -Dartifact="org.apache.hive:hive-standalone-metastore-server:$HIVE_VERSION:tar.gz:bin" -DoutputDirectory="$CTX/.tmp"

# copy-dependencies also copies pom-packaged dependencies (apache-curator-*.pom): only jars belong in lib/
find "$CTX/hive/lib" -maxdepth 1 -type f ! -name '*.jar' -delete
# netty's native transports for other OSes/CPUs are dead weight
rm -f "$CTX/hive/lib/"netty-*-osx-*.jar "$CTX/hive/lib/"netty-*-linux-aarch_64.jar "$CTX/hive/lib/"netty-*-linux-riscv64.jar

# pinned jar set: fail if anything resolved differently from what was tested
if [ -f "$HERE/lib.sha256" ]; then
  (cd "$CTX/hive/lib" && sha256sum -c --quiet "$HERE/lib.sha256")
  extra=$(comm -13 <(awk '{print $2}' "$HERE/lib.sha256" | sort) <(ls "$CTX/hive/lib" | sort))
  [ -z "$extra" ] || { echo "prepare(hive): unpinned jars resolved: $extra" >&2; exit 1; }
fi

tarball="$CTX/.tmp/hive-standalone-metastore-server-$HIVE_VERSION-bin.tar.gz"
echo "$METASTORE_BIN_SHA256  $tarball" | sha256sum -c --quiet
tar -xzf "$tarball" -C "$CTX/.tmp" "apache-hive-metastore-$HIVE_VERSION-bin/scripts/metastore/upgrade/derby"
mv "$CTX/.tmp/apache-hive-metastore-$HIVE_VERSION-bin/scripts/metastore/upgrade/derby" "$CTX/hive/scripts/metastore/upgrade/"
echo "prepare(hive): $(ls "$CTX/hive/scripts/metastore/upgrade/derby" | wc -l) Derby schema scripts" >&2
rm -rf "$CTX/.tmp"
cp -r "$HERE/files/." "$CTX/"
echo "prepare(hive): context ready in $CTX" >&2
