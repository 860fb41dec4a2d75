#!/usr/bin/env bash
# Kafka's own command-line tools, run from the jars infra/install.sh cached.
# Usage: bash infra/kafka-cli.sh console-consumer|console-producer|consumer-groups|topics|get-offsets [args...]
#   bash infra/kafka-cli.sh console-consumer --bootstrap-server 127.0.0.1:9092 --topic crm-events --from-beginning
#   bash infra/kafka-cli.sh consumer-groups --bootstrap-server 127.0.0.1:9092 --describe --group crm-event-processors
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source "$repo/infra/versions.env"
libs="${CRM_LAB_CACHE:-$HOME/.cache/crm-event-lab}/kafka-$KAFKA_VERSION/libs"
[ -f "$libs/.complete" ] || bash "$repo/infra/install.sh" --for up
tool="${1:?usage: kafka-cli.sh console-consumer|console-producer|consumer-groups|topics|get-offsets [args...]}"
shift
case "$tool" in
  console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  console-producer) class=kafka.tools.ConsoleProducer ;;
  consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  topics) class=org.apache.kafka.tools.TopicCommand ;;
  get-offsets) class=org.apache.kafka.tools.GetOffsetShell ;;
  *) echo "unknown tool: $tool" >&2; exit 2 ;;
esac
exec java -Xmx256m -Dlog4j.configuration="file:$repo/infra/tools-log4j.properties" -cp "$libs/*" "$class" "$@"
