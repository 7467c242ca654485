#!/usr/bin/env bash
# Build-time training run for class-data sharing (AppCDS, JDK 17): starts HBase standalone (master and RegionServer in
# one JVM, with its own ZooKeeper, on the local file system), runs the template's smoke check (create, put, get in the
# shell) against it and stops it. With HBASE_CDS_DUMP=1, bin/hbase starts the master and the shell so that each writes
# the classes it loaded into $HBASE_HOME/cds/<name>.jsa on exit (on top of the JDK's default archive); without it,
# bin/hbase starts the master, the RegionServers and the shell from those archives. Made here, in the image build, the
# archives match this image's JDK and jars exactly, and the recipe hash covers this script and bin/hbase: editing the
# recipe makes them again.
set -euo pipefail
cds=$HBASE_HOME/cds
mkdir -p "$cds"
train=$(mktemp -d)
site=$HBASE_CONF_DIR/hbase-site.xml
cp "$site" "$train/hbase-site.xml.orig"
# Standalone for the run only; the image's own hbase-site.xml is put back below. Same conf path, so the archives'
# class path is the one a node uses.
cat >"$site" <<XML
<?xml version="1.0"?>
<configuration>
  <property><name>hbase.cluster.distributed</name><value>false</value></property>
  <property><name>hbase.rootdir</name><value>file://$train/root</value></property>
  <property><name>hbase.zookeeper.property.dataDir</name><value>$train/zk</value></property>
  <property><name>hbase.zookeeper.quorum</name><value>localhost</value></property>
  <property><name>hbase.tmp.dir</name><value>$train/tmp</value></property>
  <property><name>hbase.unsafe.stream.capability.enforce</name><value>false</value></property>
</configuration>
XML
export HBASE_CDS_DUMP=1 HBASE_LOG_DIR=$train/logs
master=""
fail() {
  echo "cds-train: $1"; tail -n 40 "$train"/*.out
  [ -z "$master" ] || kill -KILL "$master" 2>/dev/null || true
  cp "$train/hbase-site.xml.orig" "$site"; exit 1
}
hbase master start >"$train/master.out" 2>&1 &
master=$!
for i in $(seq 1 900); do
  cb-probe hbase-master 1 && break
  kill -0 "$master" 2>/dev/null || fail "the master exited"
  [ "$i" -lt 900 ] || fail "the master did not come up"
  sleep 0.2
done
printf "create 'cds_train', 'f'\nput 'cds_train', 'r1', 'f:c', 'ok'\nget 'cds_train', 'r1'\n" \
  | timeout 300 hbase shell -n >"$train/shell.out" 2>&1 || true
grep -q 'value=ok' "$train/shell.out" || fail "the shell's round trip failed"
kill -TERM "$master" # a JVM stopped by SIGTERM writes its archive as it exits
for _ in $(seq 1 600); do kill -0 "$master" 2>/dev/null || break; sleep 0.2; done
kill -0 "$master" 2>/dev/null && fail "the master did not stop within 120 s"
wait "$master" || true
cp "$train/hbase-site.xml.orig" "$site"
for jsa in master shell; do
  [ -s "$cds/$jsa.jsa" ] || { echo "cds-train: no $jsa.jsa written"; tail -n 40 "$train"/*.out; exit 1; }
done
# Nothing of the training run may stay in the image.
rm -rf "$train" /tmp/hsperfdata_* /tmp/hbase-* /tmp/jetty* "$HBASE_HOME"/logs/*
ls -l "$cds"
