#!/usr/bin/env bash
# Fills the build context for the sqoop image.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
# Resolves pom.xml (pinned versions, see its comment for why so few jars) from Maven Central with
# checksum verification (mvn -C), copies them to <context-dir>/sqoop/lib and checks every jar against
# lib.sha256. Hadoop's own jars come from the parent (hadoop) image.
# Needs on the host: mvn + a JDK, sha256sum.
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$CTX" "$CACHE/m2"
CTX=$(cd "$CTX" && pwd); CACHE=$(cd "$CACHE" && pwd)
MVN=(mvn -B -q -C -ntp -Dmaven.repo.local="$CACHE/m2" -f "$HERE/pom.xml")
mvnq() { "${MVN[@]}" "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; }   # mvn -q still prints colour codes

rm -rf "$CTX/sqoop"
mkdir -p "$CTX/sqoop/lib" "$CTX/sqoop/client"
echo "prepare(sqoop): resolving Sqoop 1.4.7 + PostgreSQL JDBC (Maven Central, cache $CACHE/m2)" >&2
mvnq dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$CTX/sqoop/lib"
# Client-only (first on the sqoop command's classpath, never shipped to YARN tasks): Sqoop's option parser
# reflects into commons-cli's Option.addValueForProcessing, which Hadoop 3.4's commons-cli 1.9 no longer has;
# 1.5.0 has it and also the Option.builder API Hadoop's GenericOptionsParser calls.
mvnq dependency:copy -Dartifact=commons-cli:commons-cli:1.5.0 -DoutputDirectory="$CTX/sqoop/client"

# pinned jar set: fail if anything resolved differently from what was tested
if [ -f "$HERE/lib.sha256" ]; then
  (cd "$CTX/sqoop" && sha256sum -c --quiet "$HERE/lib.sha256")
  extra=$(comm -13 <(awk '{print $2}' "$HERE/lib.sha256" | sort) <(cd "$CTX/sqoop" && ls lib/* client/* | sort))
  [ -z "$extra" ] || { echo "prepare(sqoop): unpinned jars resolved: $extra" >&2; exit 1; }
fi
cp -r "$HERE/files/." "$CTX/"
chmod 0755 "$CTX/sqoop/bin/"*
echo "prepare(sqoop): context ready in $CTX" >&2
