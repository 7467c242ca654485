#!/usr/bin/env bash
# Build-time training run for class-data sharing (AppCDS, JDK 17): starts a master and a worker the way the spark
# template does, runs the template's smoke check (SparkPi) against them and stops both. With SPARK_CDS_DUMP=1,
# bin/spark-class starts the master, the worker and SparkPi's driver so that each writes the classes it loaded into
# $SPARK_HOME/cds/<name>.jsa on exit (on top of the JDK's default archive), and the driver has its executor list the
# classes it loads, made into a static archive at the end; without it, spark-class starts them from those archives. Made here, in the image build, the archives match
# this image's JDK and jars exactly, and the recipe hash covers this script and spark-class: editing the recipe makes
# them again.
set -euo pipefail
cds=$SPARK_HOME/cds
mkdir -p "$cds"
train=$(mktemp -d)
export SPARK_CDS_DUMP=1 SPARK_LOG_DIR=$train/logs SPARK_WORKER_DIR=$train/work SPARK_DAEMON_MEMORY=512m
wait_for() { # <what> <pid> <probe command...>: the template's own probes (cb-probe, from the probes image)
  local what=$1 pid=$2; shift 2
  for _ in $(seq 1 600); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "cds-train: the $what exited"; cat "$train"/*.out; exit 1; }
    sleep 0.2
  done
  echo "cds-train: the $what did not come up"; cat "$train"/*.out; exit 1
}
spark-class org.apache.spark.deploy.master.Master --host localhost --port 7077 --webui-port 8080 >"$train/master.out" 2>&1 &
master=$!
wait_for master "$master" cb-probe spark-master
spark-class org.apache.spark.deploy.worker.Worker --host localhost --cores 1 --memory 512m --webui-port 8081 spark://localhost:7077 >"$train/worker.out" 2>&1 &
worker=$!
wait_for worker "$worker" cb-probe spark-master 1
spark-submit --master spark://localhost:7077 --driver-memory 512m --executor-memory 512m \
  --class org.apache.spark.examples.SparkPi "$SPARK_HOME"/examples/jars/spark-examples_2.12-3.5.9-clusterbot.jar 4 >"$train/submit.out" 2>&1 \
  || { cat "$train"/*.out; exit 1; }
grep -q 'Pi is roughly 3\.1' "$train/submit.out" || { cat "$train"/*.out; exit 1; }
kill -TERM "$worker"; wait "$worker" || true # a JVM stopped by SIGTERM exits with 143, after writing its archive
kill -TERM "$master"; wait "$master" || true
# The executor listed the classes it loaded (see bin/spark-class); a static archive of them, made with the class path
# the worker gives an executor (bin/spark-class's jars, then the conf directory and jars/*).
[ -s "$cds/executor.classlist" ] || { echo "cds-train: the executor listed no classes"; find "$train" -name 'std*' -exec tail -20 {} +; exit 1; }
jars=$(printf '%s:' "$SPARK_HOME"/jars/*.jar)
java -Xshare:dump -XX:SharedClassListFile="$cds/executor.classlist" -XX:SharedArchiveFile="$cds/executor.jsa" \
  -cp "$jars$SPARK_HOME/conf/:$SPARK_HOME/jars/*" >"$train/executor-dump.out" 2>&1 || { cat "$train/executor-dump.out"; exit 1; }
rm "$cds/executor.classlist"
for jsa in master worker submit executor; do
  [ -s "$cds/$jsa.jsa" ] || { echo "cds-train: no $jsa.jsa written"; cat "$train"/*.out; find "$train" -name 'std*' -exec cat {} +; exit 1; }
done
# Nothing of the training run may stay in the image: a node's fresh volume is seeded from the image's folders.
rm -rf "$train" /tmp/hsperfdata_* /tmp/spark-* /tmp/blockmgr-* "$SPARK_HOME"/logs/* "$SPARK_HOME"/work/*
ls -l "$cds"
