# clusterbot defaults; every value can be overridden by the container's environment
: "${SPARK_DAEMON_MEMORY:=512m}"   # heap of Master / Worker daemons
: "${SPARK_WORKER_MEMORY:=1g}"     # memory a worker offers to executors
: "${SPARK_WORKER_CORES:=2}"       # cores a worker offers to executors
: "${SPARK_NO_DAEMONIZE:=true}"
export SPARK_DAEMON_MEMORY SPARK_WORKER_MEMORY SPARK_WORKER_CORES SPARK_NO_DAEMONIZE
