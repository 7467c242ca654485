#!/usr/bin/env bash
# Build-time training run for class-data sharing (AppCDS, JDK 17): formats a log dir and starts a one-node KRaft
# cluster (broker and controller) the way a cluster node does (kafka-node), then runs the template's smoke check
# (kafka-topics --create) against it and stops the server. With KAFKA_CDS_DUMP=1 each JVM kafka-cli starts writes
# the classes it loaded into a dynamic archive on exit, $KAFKA_HOME/cds/<command>.jsa, on top of the JDK's default
# archive; without it, kafka-cli starts those commands with their archive. Made here, in the image build, the
# archives match this image's JDK and jars exactly, and the recipe hash covers this script: editing the recipe
# makes them again.
set -euo pipefail
cds=$KAFKA_HOME/cds
mkdir -p "$cds"
train=$(mktemp -d)
export KAFKA_CDS_DUMP=1 KAFKA_NODE_ID=1 KAFKA_CONTROLLER_QUORUM_VOTERS=1@localhost:9093 KAFKA_ADVERTISED_HOST=localhost \
  KAFKA_CONFIG_FILE=$train/server.properties KAFKA_LOG_DIRS=$train/log KAFKA_CLUSTER_ID=$(cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22) \
  LOG_DIR=$train/logs
kafka-node >"$train/server.out" 2>&1 &
server=$!
for _ in $(seq 1 600); do
  (exec 3<>/dev/tcp/localhost/9092) 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$train/server.out"; exit 1; }
  sleep 0.2
done
# The bootstrap metadata the format step wrote depends only on this Kafka release: kafka-node formats a node's
# log dir with a copy of it instead of starting kafka-storage's JVM (see kafka-node).
mkdir -p "$KAFKA_HOME/bootstrap"
cp "$train/log/bootstrap.checkpoint" "$KAFKA_HOME/bootstrap/bootstrap.checkpoint"
kafka-topics --bootstrap-server localhost:9092 --create --topic cds-training --partitions 1 --replication-factor 1 >"$train/cli.out" 2>&1 \
  || { cat "$train/cli.out" "$train/server.out"; exit 1; }
KAFKA_CDS_DUMP= kafka-topics --bootstrap-server localhost:9092 --describe --topic cds-training 2>&1 | grep -q 'ReplicationFactor: *1' \
  || { cat "$train/server.out"; exit 1; }
kill -TERM "$server"
wait "$server" || true # a JVM stopped by SIGTERM exits with 143, after writing its archive
for jsa in kafka-storage kafka-server-start kafka-topics; do
  [ -s "$cds/$jsa.jsa" ] || { echo "no $jsa.jsa written"; cat "$train/server.out"; exit 1; }
done
# Nothing of the training run may stay in the image: a node's fresh volume is seeded from the image's folders.
rm -rf "$train" /tmp/hsperfdata_* /tmp/kafka-* "$KAFKA_HOME"/logs/*
ls -l "$cds"
