#!/usr/bin/env bash
# Resolves Apache Kafka (tools/kafka/pom.xml) from Maven Central into a class path file,
# tools/kafka/target/classpath.txt, that packages/testing/src/kafka-broker.ts runs the broker on,
# and compiles our KafkaTool.java against it into target/classes. Each step only when its input
# changed: a warm run is instant. Called by `make kafka`.
set -euo pipefail
cd "$(dirname "$0")"
for tool in java javac mvn; do
  command -v "$tool" >/dev/null || {
    echo "kafka: $tool is missing; make test-dapr needs a Java 17+ JDK and Maven (apt-get install openjdk-17-jdk-headless maven)"
    exit 1
  }
done
start=$(date +%s)
if [ ! target/classpath.txt -nt pom.xml ]; then
  mvn -B -q dependency:build-classpath -Dmdep.outputFile="target/classpath.txt.$$"
  mv "target/classpath.txt.$$" target/classpath.txt
  version=$(sed -n 's/.*<kafka.version>\(.*\)<\/kafka.version>.*/\1/p' pom.xml)
  echo "kafka: resolved Apache Kafka $version ($(tr ':' '\n' < target/classpath.txt | wc -l) jars) in $(( $(date +%s) - start )) s"
fi
if [ ! target/classes/KafkaTool.class -nt KafkaTool.java ] || [ ! target/classes/KafkaTool.class -nt target/classpath.txt ]; then
  rm -rf target/classes
  javac -nowarn -d target/classes -cp "$(cat target/classpath.txt)" KafkaTool.java
  echo "kafka: compiled KafkaTool.java"
fi
