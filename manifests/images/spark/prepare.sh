#!/usr/bin/env bash
# Fills the build context for the spark image.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
# Fetches the pinned pyspark sdist from PyPI with pip (hash-pinned; it carries Spark's jars, bin/ and sbin/),
# verifies its sha256, and lays out <context-dir>/spark as a SPARK_HOME.
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

SPARK_VERSION=3.5.9
PYSPARK_SHA256=ea27adc39ddac9413b8951e45aa748cbed6c785971b81386efc41938f6243d93   # pyspark-3.5.9.tar.gz (sdist, 318 MB)

mkdir -p "$CTX" "$CACHE"
TGZ="$CACHE/pyspark-$SPARK_VERSION.tar.gz"
if [ ! -f "$TGZ" ] || ! echo "$PYSPARK_SHA256  $TGZ" | sha256sum -c --quiet - 2>/dev/null; then
  echo "prepare(spark): downloading the pyspark $SPARK_VERSION sdist from PyPI (pip, hash-pinned)" >&2
  DL=$(mktemp -d "$CACHE/.pyspark-dl.XXXXXX")
  echo "pyspark==$SPARK_VERSION --hash=sha256:$PYSPARK_SHA256" > "$DL/requirements.txt"
  PIP=(pip); command -v pip >/dev/null || PIP=(python3 -m pip)
  "${PIP[@]}" download --quiet --no-deps --no-binary :all: --require-hashes -r "$DL/requirements.txt" -d "$DL" >&2
  echo "$PYSPARK_SHA256  $DL/pyspark-$SPARK_VERSION.tar.gz" | sha256sum -c --quiet -
  mv "$DL/pyspark-$SPARK_VERSION.tar.gz" "$TGZ"; rm -rf "$DL"
fi

rm -rf "$CTX/spark" "$CTX/.pyspark-x"
mkdir -p "$CTX/.pyspark-x"
tar -C "$CTX/.pyspark-x" -xzf "$TGZ" \
  "pyspark-$SPARK_VERSION/deps/bin" "pyspark-$SPARK_VERSION/deps/sbin" "pyspark-$SPARK_VERSION/deps/jars" \
  "pyspark-$SPARK_VERSION/deps/licenses" "pyspark-$SPARK_VERSION/deps/examples" "pyspark-$SPARK_VERSION/lib"
SRC="$CTX/.pyspark-x/pyspark-$SPARK_VERSION"
mkdir -p "$CTX/spark/python/lib" "$CTX/spark/examples/src/main" "$CTX/spark/conf"
mv "$SRC/deps/bin" "$SRC/deps/sbin" "$SRC/deps/jars" "$SRC/deps/licenses" "$CTX/spark/"
mv "$SRC/deps/examples" "$CTX/spark/examples/src/main/python"
mv "$SRC/lib/"*.zip "$CTX/spark/python/lib/"
rm -rf "$CTX/.pyspark-x"
# Windows launchers are useless here
find "$CTX/spark/bin" "$CTX/spark/sbin" -name '*.cmd' -delete
echo "Spark $SPARK_VERSION (jars from pyspark $SPARK_VERSION sdist on PyPI, sha256 $PYSPARK_SHA256)" > "$CTX/spark/RELEASE"

# our own files: SparkPi source, default config, launcher
cp -r "$HERE/files/." "$CTX/"
echo "prepare(spark): context ready in $CTX" >&2
