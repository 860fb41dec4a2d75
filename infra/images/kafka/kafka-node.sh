#!/bin/sh
# Entry point of crm-lab/kafka: formats the storage on the first start, then runs one KRaft node.
# Usage: kafka-node.sh <server.properties> <cluster-id>
# Env: KAFKA_HEAP_MB (512), KAFKA_LOG4J (a log4j.properties file), KAFKA_LIBS (the jars), and
# KAFKA_CFG_<NAME>=value, which overrides property <name> (lower case, '_' for '.'): compose sets
# the advertised address this way.
set -eu
props="$1"; cluster_id="$2"
if env | grep -q '^KAFKA_CFG_'; then
  cp "$props" /tmp/server.properties
  env | sed -n 's/^KAFKA_CFG_\([A-Z0-9_]*\)=\(.*\)$/\1 \2/p' | while read -r name value; do
    printf '%s=%s\n' "$(printf '%s' "$name" | tr 'A-Z_' 'a-z.')" "$value"
  done >>/tmp/server.properties
  props=/tmp/server.properties
fi
heap="${KAFKA_HEAP_MB:-512}"
init_heap=$(( heap < 256 ? heap : 256 ))
log4j="${KAFKA_LOG4J:-/etc/kafka/log4j.properties}"
set -- -Xms${init_heap}m -Xmx${heap}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  -Dlog4j.configuration=file:"$log4j" -cp "${KAFKA_LIBS:-/opt/kafka/libs}/*"
log_dir="$(sed -n 's/^log\.dirs=//p' "$props" | cut -d, -f1)"
if [ ! -f "$log_dir/meta.properties" ]; then
  java "$@" kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$props"
fi
exec java "$@" kafka.Kafka "$props"
