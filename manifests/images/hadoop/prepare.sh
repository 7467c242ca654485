#!/usr/bin/env bash
# Fills the build context for the hadoop image.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
# Resolves pom.xml (pinned Hadoop version) from Maven Central with checksum verification (mvn -C),
# copies the runtime jars to <context-dir>/hadoop/lib, extracts the HDFS web UI (webapps/) from the
# hadoop-hdfs tests jar (the main jar on Maven Central has none) and checks every jar against lib.sha256.
# Needs on the host: mvn + a JDK, sha256sum, python3 (zip extraction).
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HADOOP_VERSION=3.4.2
mkdir -p "$CTX" "$CACHE/m2"
CTX=$(cd "$CTX" && pwd); CACHE=$(cd "$CACHE" && pwd)
MVN=(mvn -B -q -C -ntp -Dmaven.repo.local="$CACHE/m2" -f "$HERE/pom.xml")
mvnq() { "${MVN[@]}" "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; }   # mvn -q still prints colour codes

rm -rf "$CTX/hadoop"
mkdir -p "$CTX/hadoop/lib" "$CTX/hadoop/share/hadoop/hdfs" "$CTX/.tmp"
echo "prepare(hadoop): resolving Hadoop $HADOOP_VERSION jars (Maven Central, cache $CACHE/m2)" >&2
mvnq dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$CTX/hadoop/lib"
mvnq dependency:copy -Dartifact="org.apache.hadoop:hadoop-hdfs:$HADOOP_VERSION:jar:tests" -DoutputDirectory="$CTX/.tmp"

# netty's native transports for other OSes/CPUs are dead weight
rm -f "$CTX/hadoop/lib/"netty-*-osx-*.jar "$CTX/hadoop/lib/"netty-*-linux-aarch_64.jar "$CTX/hadoop/lib/"netty-*-linux-riscv64.jar

# pinned jar set: fail if anything resolved differently from what was tested
if [ -f "$HERE/lib.sha256" ]; then
  (cd "$CTX/hadoop/lib" && sha256sum -c --quiet "$HERE/lib.sha256")
  extra=$(comm -13 <(awk '{print $2}' "$HERE/lib.sha256" | sort) <(ls "$CTX/hadoop/lib" | sort))
  [ -z "$extra" ] || { echo "prepare(hadoop): unpinned jars resolved: $extra" >&2; exit 1; }
fi

python3 - "$CTX/.tmp/hadoop-hdfs-$HADOOP_VERSION-tests.jar" "$CTX/hadoop/share/hadoop/hdfs" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    names = [n for n in z.namelist() if n.startswith("webapps/")]
    z.extractall(dst, names)
print(f"prepare(hadoop): extracted {len(names)} webapps entries", file=sys.stderr)
PY
rm -rf "$CTX/.tmp"
cp -r "$HERE/files/." "$CTX/"
echo "prepare(hadoop): context ready in $CTX" >&2
