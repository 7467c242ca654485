#!/usr/bin/env bash
# Build-time training run for class-data sharing (AppCDS, JDK 17): starts a ZooKeeper server the way a cluster
# node does (quorum mode, a single voter, so the election and leader classes load too), runs the smoke check's
# zkCli.sh against it, then stops both. Each JVM writes the classes it loaded into a dynamic CDS archive on exit
# (-XX:ArchiveClassesAtExit, on top of the JDK's default archive); ./environment points the server and the client at
# them. The archives are made here, in the image build, so they match this image's JDK and jars exactly and are part
# of what the recipe hash covers: editing the recipe rebuilds them. A JVM whose class path does not match an archive
# (a template that changes it) just starts without it.
set -euo pipefail
cds=/usr/share/zookeeper/cds
mkdir -p "$cds"
train=$(mktemp -d)
cat >"$train/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$train/data
clientPort=2181
4lw.commands.whitelist=*
admin.enableServer=false
standaloneEnabled=false
server.1=localhost:2888:3888
CFG
mkdir -p "$train/data" && echo 1 >"$train/data/myid"

# A config outside ZOOCFGDIR is taken from the argument (zkServer.sh ignores ZOOCFG then).
ZK_SERVER_CDS="-XX:ArchiveClassesAtExit=$cds/server.jsa" \
  /usr/share/zookeeper/bin/zkServer.sh start-foreground "$train/zoo.cfg" >"$train/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do
  echo srvr | nc -q1 -w1 localhost 2181 2>/dev/null | grep -q '^Mode: leader' && break
  kill -0 "$server" 2>/dev/null || { cat "$train/server.log"; exit 1; }
  sleep 0.2
done
# What the template's smoke check does, and a little more of the client (ls, stat, delete).
printf 'create /cds-training ok\nget /cds-training\nls /\nstat /cds-training\ndelete /cds-training\nquit\n' \
  | ZK_CLIENT_CDS="-XX:ArchiveClassesAtExit=$cds/cli.jsa" /usr/share/zookeeper/bin/zkCli.sh -server localhost:2181 >"$train/cli.log" 2>&1 \
  || { cat "$train/cli.log"; exit 1; }
grep -qx ok "$train/cli.log" || { cat "$train/cli.log"; exit 1; }
kill -TERM "$server"
wait "$server" || true # a JVM stopped by SIGTERM exits with 143, after writing its archive
for jsa in server cli; do
  [ -s "$cds/$jsa.jsa" ] || { echo "no $jsa.jsa written"; cat "$train/server.log" "$train/cli.log"; exit 1; }
done
# Nothing of the training run may stay in the image: a node's fresh volume is seeded from these folders.
rm -rf "$train" /var/log/zookeeper/* /tmp/hsperfdata_* 
ls -l "$cds"
