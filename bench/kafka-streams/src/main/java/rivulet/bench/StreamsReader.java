package rivulet.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The Kafka Streams side of `npm run bench:streams`: reads a keyed topic from the beginning and counts
 * per key, either in a KTable (`count`: RocksDB store + changelog) or in tumbling windows (`tumbling`:
 * a windowed RocksDB store + changelog), with the defaults of Kafka Streams 3.9 (at-least-once, record
 * cache on). Prints one JSON line: the records read and the rate from the first record processed to the
 * last one, then to the first commit that covers all of them.
 *
 * <p>Arguments: mode (count | tumbling), bootstrap servers, topic, records expected, application id,
 * window size in ms, grace in ms.
 */
public final class StreamsReader {
  private StreamsReader() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String brokers = args[1];
    String topic = args[2];
    long expected = Long.parseLong(args[3]);
    String applicationId = args[4];
    long windowMs = args.length > 5 ? Long.parseLong(args[5]) : 60_000;
    long graceMs = args.length > 6 ? Long.parseLong(args[6]) : 1_000;

    Path stateDir = Files.createTempDirectory("rivulet-bench-streams-");
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    // Commits (and with them the flush of the record cache into the changelog) every second, not every
    // 30 s: the rate below ends at the first commit that covers every record.
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1_000);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    AtomicLong seen = new AtomicLong();
    AtomicLong first = new AtomicLong();
    AtomicLong last = new AtomicLong();
    CountDownLatch processed = new CountDownLatch(1);
    CountDownLatch committed = new CountDownLatch(1);
    AtomicLong committedAt = new AtomicLong();

    StreamsBuilder builder = new StreamsBuilder();
    KGroupedStream<String, byte[]> grouped =
        builder.stream(topic, Consumed.with(Serdes.String(), Serdes.ByteArray()))
            .peek(
                (key, value) -> {
                  long n = seen.incrementAndGet();
                  if (n == 1) first.set(System.nanoTime());
                  if (n == expected) {
                    last.set(System.nanoTime());
                    processed.countDown();
                  }
                })
            .groupByKey(Grouped.with(Serdes.String(), Serdes.ByteArray()));
    if (mode.equals("count")) {
      grouped.count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts"));
    } else if (mode.equals("tumbling")) {
      grouped
          .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(windowMs), Duration.ofMillis(graceMs)))
          .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("window-counts"));
    } else {
      throw new IllegalArgumentException("mode must be count or tumbling: " + mode);
    }

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    streams.start();
    if (!processed.await(15, TimeUnit.MINUTES)) {
      streams.close(Duration.ofSeconds(10));
      throw new IllegalStateException("read " + seen.get() + " of " + expected + " records");
    }
    // Wait for the commit that covers the last record: the group's committed offsets reach the end.
    try (Admin admin = Admin.create(adminProps(brokers))) {
      var partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions();
      Map<TopicPartition, OffsetSpec> request = new HashMap<>();
      for (var p : partitions) request.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
      var ends = admin.listOffsets(request).all().get();
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (System.nanoTime() < deadline) {
        var offsets = admin.listConsumerGroupOffsets(applicationId).partitionsToOffsetAndMetadata().get();
        boolean all = true;
        for (var entry : ends.entrySet()) {
          var offset = offsets.get(entry.getKey());
          if (offset == null || offset.offset() < entry.getValue().offset()) all = false;
        }
        if (all) {
          committedAt.set(System.nanoTime());
          committed.countDown();
          break;
        }
        Thread.sleep(10);
      }
    }
    streams.close(Duration.ofSeconds(30));
    streams.cleanUp();
    double processedSeconds = (last.get() - first.get()) / 1e9;
    double committedSeconds = (committedAt.get() - first.get()) / 1e9;
    System.out.printf(
        "{\"records\":%d,\"rate\":%.1f,\"committedRate\":%s}%n",
        seen.get(),
        expected / processedSeconds,
        committed.getCount() == 0 ? String.format("%.1f", expected / committedSeconds) : "null");
  }

  private static Properties adminProps(String brokers) {
    Properties props = new Properties();
    props.put("bootstrap.servers", brokers);
    return props;
  }
}
