// Lab 06's hourly topology written with Kafka Streams, to check the TypeScript processor against
// the real engine: events per user per hour and event_type, tumbling windows on event time, the
// same grace period, final results only (suppress until the window closes), exactly_once_v2.
// Started by infra/kafka-streams.ts; settings from the environment, as the TypeScript processor.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.TimestampExtractor;

public class HourlyCounts {
  static final ObjectMapper JSON = new ObjectMapper();
  static final DateTimeFormatter ISO_MS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  static final long MAX_CLOCK_SKEW_MS = 5 * 60_000L;
  static final long MAX_CLIENT_AGE_MS = 7 * 24 * 3_600_000L;

  static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }

  static long parseTime(String iso) {
    return OffsetDateTime.parse(iso, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant().toEpochMilli();
  }

  /** The same rule as labs/06-stream-processing/src/event-time.ts: the client's time when believable, else the server's. */
  public static class EventTimeExtractor implements TimestampExtractor {
    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
      try {
        JsonNode e = JSON.readTree((String) record.value());
        long server = parseTime(e.get("server_timestamp").asText());
        JsonNode client = e.get("timestamp");
        if (client != null && !client.isNull()) {
          try {
            long t = parseTime(client.asText());
            if (t <= server + MAX_CLOCK_SKEW_MS && t >= server - MAX_CLIENT_AGE_MS) return t;
          } catch (RuntimeException ignored) {
            // unparseable client time: the server's
          }
        }
        return server;
      } catch (Exception notAnEvent) {
        return -1; // Kafka Streams skips records with a negative timestamp
      }
    }
  }

  static TreeMap<String, Long> readCounts(String aggregate) throws Exception {
    TreeMap<String, Long> counts = new TreeMap<>();
    JSON.readTree(aggregate).fields().forEachRemaining(f -> counts.put(f.getKey(), f.getValue().asLong()));
    return counts;
  }

  static String addEvent(String aggregate, String eventJson) {
    try {
      TreeMap<String, Long> counts = readCounts(aggregate);
      counts.merge(JSON.readTree(eventJson).get("event_type").asText(), 1L, Long::sum);
      return JSON.writeValueAsString(counts);
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  /** The TypeScript processor's record shape: {user_id, window_start, window_end, counts, total}. */
  static String render(Windowed<String> window, String aggregate) {
    try {
      TreeMap<String, Long> counts = readCounts(aggregate);
      ObjectNode out = JSON.createObjectNode();
      out.put("user_id", window.key());
      out.put("window_start", ISO_MS.format(Instant.ofEpochMilli(window.window().start())));
      out.put("window_end", ISO_MS.format(Instant.ofEpochMilli(window.window().end())));
      ObjectNode c = out.putObject("counts");
      long total = 0;
      for (Map.Entry<String, Long> entry : counts.entrySet()) {
        c.put(entry.getKey(), entry.getValue().longValue());
        total += entry.getValue().longValue();
      }
      out.put("total", total);
      return JSON.writeValueAsString(out);
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, env("STREAMS_APP_ID", "crm-streams-java"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, env("KAFKA_BROKERS", "127.0.0.1:9092"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, env("PROCESSING_GUARANTEE", StreamsConfig.EXACTLY_ONCE_V2));
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, env("COMMIT_INTERVAL_MS", "100"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, env("STATE_DIR", System.getProperty("java.io.tmpdir") + "/crm-kafka-streams"));
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    props.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, EventTimeExtractor.class);
    // The record cache (10 MB by default) holds aggregate updates until a commit; 0 forwards each one.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, Long.parseLong(env("STATESTORE_CACHE_MAX_BYTES", "10485760")));
    long graceMs = Long.parseLong(env("GRACE_MS", "600000"));

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(env("STREAMS_INPUT_TOPIC", "crm-events"), Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey() // the key is already user_id: no repartition topic
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofHours(1), Duration.ofMillis(graceMs)))
        .aggregate(() -> "{}", (user, event, aggregate) -> addEvent(aggregate, event),
            Materialized.with(Serdes.String(), Serdes.String()))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream()
        .map((window, aggregate) -> KeyValue.pair(window.key(), render(window, aggregate)))
        .to(env("HOURLY_TOPIC", "crm-user-hourly-java"), Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // Late records Kafka Streams dropped (its window had closed): the TypeScript processor's late_events.
      double dropped = streams.metrics().values().stream()
          .filter(m -> m.metricName().name().equals("dropped-records-total"))
          .mapToDouble(m -> ((Number) m.metricValue()).doubleValue()).sum();
      System.out.println("{\"msg\":\"stopping\",\"dropped_records_total\":" + (long) dropped + "}");
      streams.close(Duration.ofSeconds(20));
      stopped.countDown();
    }));
    streams.setUncaughtExceptionHandler(error -> {
      error.printStackTrace();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.setStateListener((now, before) -> System.out.println("{\"msg\":\"state\",\"state\":\"" + now + "\"}"));
    streams.start();
    stopped.await();
  }
}
