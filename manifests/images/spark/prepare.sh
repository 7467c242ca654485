#!/usr/bin/env bash
# Fills the build context for the spark image.
#   usage: bash prepare.sh <context-dir> <download-cache-dir>
# Fetches the pinned pyspark sdist from PyPI (it carries Spark's jars, bin/ and sbin/),
# verifies its sha256, and lays out <context-dir>/spark as a SPARK_HOME.
set -euo pipefail
CTX=${1:?context dir}; CACHE=${2:?download cache dir}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

SPARK_VERSION=3.5.9
PYSPARK_URL=https://files.pythonhosted.org/packages/95/ce/81e53e729790556e3983e95de1a7d5df91a34adfcd34b5a5ab0e0c6e9b33/pyspark-3.5.9.tar.gz
PYSPARK_SHA256=ea27adc39ddac9413b8951e45aa748cbed6c785971b81386efc41938f6243d93

mkdir -p "$CTX" "$CACHE"
TGZ="$CACHE/pyspark-$SPARK_VERSION.tar.gz"
if [ ! -f "$TGZ" ] || ! echo "$PYSPARK_SHA256  $TGZ" | sha256sum -c --quiet - 2>/dev/null; then
  echo "prepare(spark): downloading pyspark $SPARK_VERSION sdist" >&2
  curl -fsSL --retry 3 -o "$TGZ.part" "$PYSPARK_URL"
  echo "$PYSPARK_SHA256  $TGZ.part" | sha256sum -c --quiet -
  mv "$TGZ.part" "$TGZ"
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
