#!/usr/bin/env bash
# Fills the build context for the solr image.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
# Resolves pom.xml (pinned versions) from Maven Central only (settings.xml) with checksum verification
# (mvn -C), copies the runtime jars to <context-dir>/solr/lib and checks every jar against lib.sha256.
# Then compiles the Jetty launcher (files/solr/src/SolrJetty.java) against those jars with the host JDK
# (--release 17, the base image's Java), so the Dockerfile needs no RUN step.
# Needs on the host: mvn + a JDK (javac 17 or newer), sha256sum.
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$CTX" "$CACHE/m2"
CTX=$(cd "$CTX" && pwd); CACHE=$(cd "$CACHE" && pwd)
MVN=(mvn -B -q -C -ntp -s "$HERE/settings.xml" -Dmaven.repo.local="$CACHE/m2" -f "$HERE/pom.xml")
mvnq() { "${MVN[@]}" "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; }   # mvn -q still prints colour codes

rm -rf "$CTX/solr"
mkdir -p "$CTX/solr/lib"
echo "prepare(solr): resolving Solr 9.10.1 jars (Maven Central, cache $CACHE/m2)" >&2
mvnq dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$CTX/solr/lib"
find "$CTX/solr/lib" -maxdepth 1 -type f ! -name '*.jar' -delete
# native TLS/transport builds for other OSes/CPUs are dead weight (the image is linux-x86_64)
rm -f "$CTX/solr/lib/"*-osx-*.jar "$CTX/solr/lib/"*-windows-*.jar "$CTX/solr/lib/"*-linux-aarch_64.jar

# pinned jar set: fail if anything resolved differently from what was tested
if [ -f "$HERE/lib.sha256" ]; then
  (cd "$CTX/solr/lib" && sha256sum -c --quiet "$HERE/lib.sha256")
  extra=$(comm -13 <(awk '{print $2}' "$HERE/lib.sha256" | sort) <(ls "$CTX/solr/lib" | sort))
  [ -z "$extra" ] || { echo "prepare(solr): unpinned jars resolved: $extra" >&2; exit 1; }
fi
cp -r "$HERE/files/." "$CTX/"
mkdir -p "$CTX/solr/launcher"
javac -nowarn --release 17 -d "$CTX/solr/launcher" -cp "$CTX/solr/lib/*" "$CTX/solr/src/SolrJetty.java"
echo "prepare(solr): $(ls "$CTX/solr/lib" | wc -l) jars, context ready in $CTX" >&2
