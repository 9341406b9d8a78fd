// What the real-runtime tests ask of a Kafka broker, through kafka-clients' Admin and Consumer
// APIs: create topics, read end offsets, consumer-group lag, and a topic's records. Compiled by
// tools/kafka/classpath.sh (`make kafka`) against the broker's class path:
//   java -cp "tools/kafka/target/classes:$(cat tools/kafka/target/classpath.txt)" KafkaTool <command> <bootstrap> …
// Every command prints one JSON document on stdout; failures go to stderr with a non-zero exit.
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class KafkaTool {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) throw new IllegalArgumentException("usage: <create|offsets|groups|read> <bootstrap> …");
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    try (Admin admin = Admin.create(props)) {
      String out = switch (args[0]) {
        case "create" -> create(admin, args[2]);
        case "offsets" -> json(endOffsets(admin, args.length > 2 ? args[2] : ".*"));
        case "groups" -> groups(admin);
        case "read" -> read(args[1], admin, args[2]);
        default -> throw new IllegalArgumentException("unknown command " + args[0]);
      };
      System.out.println(out);
    }
  }

  /** `spec`: name:partitions:replication[:key=value,…];… Existing topics are fine. */
  static String create(Admin admin, String spec) throws Exception {
    List<NewTopic> topics = new ArrayList<>();
    for (String one : spec.split(";")) {
      String[] f = one.split(":", 4);
      NewTopic topic = new NewTopic(f[0], Integer.parseInt(f[1]), Short.parseShort(f[2]));
      if (f.length == 4 && !f[3].isEmpty()) {
        Map<String, String> config = new HashMap<>();
        for (String kv : f[3].split(",")) config.put(kv.split("=", 2)[0], kv.split("=", 2)[1]);
        topic.configs(config);
      }
      topics.add(topic);
    }
    for (var entry : admin.createTopics(topics).values().entrySet()) {
      try {
        entry.getValue().get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
      }
    }
    // Created means every partition has a leader: describe until it does.
    Set<String> names = topics.stream().map(NewTopic::name).collect(Collectors.toSet());
    Map<String, Object> described = new TreeMap<>();
    for (int attempt = 0; ; attempt++) {
      try {
        var descriptions = admin.describeTopics(names).allTopicNames().get();
        boolean led = descriptions.values().stream()
            .allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
        if (led) {
          var configs = admin.describeConfigs(names.stream()
              .map(n -> new org.apache.kafka.common.config.ConfigResource(
                  org.apache.kafka.common.config.ConfigResource.Type.TOPIC, n))
              .toList()).all().get();
          for (var d : descriptions.values()) {
            Map<String, Object> t = new TreeMap<>();
            t.put("partitions", d.partitions().size());
            var config = configs.get(new org.apache.kafka.common.config.ConfigResource(
                org.apache.kafka.common.config.ConfigResource.Type.TOPIC, d.name()));
            t.put("retention.ms", config.get("retention.ms").value());
            described.put(d.name(), t);
          }
          return json(described);
        }
      } catch (ExecutionException e) {
        if (attempt > 100) throw e;
      }
      Thread.sleep(100);
    }
  }

  static Map<String, Long> endOffsets(Admin admin, String regex) throws Exception {
    Pattern pattern = Pattern.compile(regex);
    Set<String> names = admin.listTopics().names().get().stream()
        .filter(n -> pattern.matcher(n).find()).collect(Collectors.toSet());
    Map<String, Long> sums = new TreeMap<>();
    for (var entry : latest(admin, partitions(admin, names)).entrySet()) {
      sums.merge(entry.getKey().topic(), entry.getValue(), Long::sum);
    }
    for (String name : names) sums.putIfAbsent(name, 0L);
    return sums;
  }

  static List<TopicPartition> partitions(Admin admin, Collection<String> topics) throws Exception {
    if (topics.isEmpty()) return List.of();
    return admin.describeTopics(topics).allTopicNames().get().values().stream()
        .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
        .toList();
  }

  static Map<TopicPartition, Long> latest(Admin admin, Collection<TopicPartition> partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (TopicPartition tp : partitions) request.put(tp, OffsetSpec.latest());
    Map<TopicPartition, Long> offsets = new HashMap<>();
    for (var e : admin.listOffsets(request).all().get().entrySet()) offsets.put(e.getKey(), e.getValue().offset());
    return offsets;
  }

  /** Per consumer group and topic: committed offsets, end offsets and the lag, summed over partitions. */
  static String groups(Admin admin) throws Exception {
    Map<String, Object> out = new TreeMap<>();
    for (var listing : admin.listGroups().all().get()) {
      String group = listing.groupId();
      var committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      Set<String> topics = committed.keySet().stream().map(TopicPartition::topic).collect(Collectors.toSet());
      Map<TopicPartition, Long> end = latest(admin, partitions(admin, topics));
      Map<String, long[]> sums = new TreeMap<>();
      for (var e : end.entrySet()) {
        OffsetAndMetadata c = committed.get(e.getKey());
        long at = c == null ? 0 : c.offset();
        long[] s = sums.computeIfAbsent(e.getKey().topic(), k -> new long[3]);
        s[0] += at;
        s[1] += e.getValue();
        s[2] += Math.max(0, e.getValue() - at);
      }
      Map<String, Object> perTopic = new TreeMap<>();
      for (var e : sums.entrySet()) {
        perTopic.put(e.getKey(), Map.of("committed", e.getValue()[0], "end", e.getValue()[1], "lag", e.getValue()[2]));
      }
      out.put(group, perTopic);
    }
    return json(out);
  }

  /** Every record of `topic` now on the broker, by partition then offset (no group, nothing committed). */
  static String read(String bootstrap, Admin admin, String topic) throws Exception {
    Map<TopicPartition, Long> end = latest(admin, partitions(admin, List.of(topic)));
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<Map<String, Object>> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(end.keySet());
      consumer.seekToBeginning(end.keySet());
      Set<TopicPartition> open = end.entrySet().stream().filter(e -> e.getValue() > 0)
          .map(Map.Entry::getKey).collect(Collectors.toCollection(HashSet::new));
      long deadline = System.currentTimeMillis() + 60_000;
      while (!open.isEmpty()) {
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("read timed out: " + open);
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          TopicPartition tp = new TopicPartition(r.topic(), r.partition());
          if (r.offset() >= end.get(tp)) continue;
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("partition", r.partition());
          m.put("offset", r.offset());
          m.put("timestamp", r.timestamp());
          m.put("key", r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8));
          m.put("value", r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8));
          Map<String, Object> headers = new TreeMap<>();
          for (Header h : r.headers()) headers.put(h.key(), h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8));
          m.put("headers", headers);
          records.add(m);
        }
        open.removeIf(tp -> consumer.position(tp) >= end.get(tp));
      }
    }
    records.sort(Comparator.comparing((Map<String, Object> m) -> (Integer) m.get("partition"))
        .thenComparing(m -> (Long) m.get("offset")));
    return json(records);
  }

  // A JSON writer for the maps, lists, strings and numbers above (kafka-clients has none public).
  static String json(Object value) {
    if (value == null) return "null";
    if (value instanceof String s) {
      StringBuilder b = new StringBuilder("\"");
      for (char c : s.toCharArray()) {
        switch (c) {
          case '"' -> b.append("\\\"");
          case '\\' -> b.append("\\\\");
          case '\n' -> b.append("\\n");
          case '\r' -> b.append("\\r");
          case '\t' -> b.append("\\t");
          default -> {
            if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
          }
        }
      }
      return b.append('"').toString();
    }
    if (value instanceof Number || value instanceof Boolean) return value.toString();
    if (value instanceof Map<?, ?> map) {
      return map.entrySet().stream().map(e -> json(String.valueOf(e.getKey())) + ":" + json(e.getValue()))
          .collect(Collectors.joining(",", "{", "}"));
    }
    if (value instanceof Collection<?> list) {
      return list.stream().map(KafkaTool::json).collect(Collectors.joining(",", "[", "]"));
    }
    return json(value.toString());
  }
}
