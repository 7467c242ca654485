#!/usr/bin/env bash
# Build-time training run for class-data sharing (AppCDS, JDK 17): formats a NameNode and starts it, a DataNode, a
# ResourceManager and a NodeManager on localhost the way the hadoop template does, writes and reads a file through
# WebHDFS (the template's smoke check), and stops them. With HADOOP_CDS_DUMP=1, bin/hadoop-cli starts each daemon so
# that it writes the classes it loaded into $HADOOP_HOME/cds/<daemon>.jsa on exit (on top of the JDK's default
# archive); without it, hadoop-cli starts them from those archives. Made here, in the image build, the archives match
# this image's JDK and jars exactly, and the recipe hash covers this script and hadoop-cli: editing the recipe makes
# them again.
set -euo pipefail
cds=$HADOOP_HOME/cds
mkdir -p "$cds"
train=$(mktemp -d)
# The image's site files take their hosts and replication from the environment: everything on localhost here.
export HDFS_NAMENODE_HOST=localhost YARN_RESOURCEMANAGER_HOST=localhost HDFS_REPLICATION=1 HADOOP_LOG_DIR=$train/logs
pids=()
stop_all() { kill -TERM "${pids[@]}" 2>/dev/null || true; for p in "${pids[@]}"; do wait "$p" || true; done; }
fail() { echo "cds-train: $1"; tail -n 30 "$train"/*.out; stop_all; exit 1; }
wait_for() { # <what> <probe command...>: the template's own probes (cb-probe, from the probes image)
  local what=$1; shift
  for _ in $(seq 1 600); do
    "$@" && return 0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "a daemon exited while waiting for the $what"; done
    sleep 0.2
  done
  fail "the $what did not come up"
}
hdfs namenode -format -nonInteractive -force >"$train/format.out" 2>&1 || fail "namenode -format failed"
export HADOOP_CDS_DUMP=1
hdfs namenode >"$train/namenode.out" 2>&1 & pids+=($!)
hdfs datanode >"$train/datanode.out" 2>&1 & pids+=($!)
yarn resourcemanager >"$train/resourcemanager.out" 2>&1 & pids+=($!)
yarn nodemanager >"$train/nodemanager.out" 2>&1 & pids+=($!)
wait_for "NameNode with its DataNode" cb-probe hdfs-namenode 1
wait_for "DataNode" cb-probe hdfs-datanode
wait_for "ResourceManager with its NodeManager" cb-probe yarn-resourcemanager 1
wait_for "NodeManager" cb-probe yarn-nodemanager
w='http://localhost:9870/webhdfs/v1/cds-train?user.name=root'
echo cds-train >"$train/file"
curl -sf -L -X PUT -T "$train/file" "$w&op=CREATE&overwrite=true" >/dev/null || fail "WebHDFS write failed"
[ "$(curl -sf -L "$w&op=OPEN")" = cds-train ] || fail "WebHDFS read failed"
stop_all # a JVM stopped by SIGTERM writes its archive as it exits
for jsa in namenode datanode resourcemanager nodemanager; do
  [ -s "$cds/$jsa.jsa" ] || { echo "cds-train: no $jsa.jsa written"; tail -n 30 "$train"/*.out; exit 1; }
done
# Nothing of the training run may stay in the image: a node's fresh volume is seeded from the image's folders.
rm -rf "$train" /tmp/hsperfdata_* /tmp/hadoop-* /tmp/Jetty_* /data/hdfs/* /data/yarn/* /data/tmp/* "$HADOOP_HOME"/logs/*
ls -l "$cds"
