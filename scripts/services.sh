#!/usr/bin/env bash
# Local Kafka, Redis, InfluxDB 1.x and VictoriaMetrics for the integration tests, without Docker.
#
#   bash scripts/services.sh up     [service...]   start (no-op for services already running)
#   bash scripts/services.sh down   [service...]   stop what this script started
#   bash scripts/services.sh status [service...]   one line per service; exit 1 if any is not running
#
# Services: kafka kafka-sasl redis influxdb victoria (default: all). kafka-sasl is a second broker whose
# listener requires SASL (SCRAM-SHA-512 and PLAIN users). Ports come from scripts/env.sh
# (RIVULET_KAFKA_PORT, RIVULET_KAFKA_SASL_PORT, RIVULET_REDIS_PORT, RIVULET_INFLUX_PORT, ...).
# State, data and logs live in <repo>/.services/<service>/; Kafka jars are cached in <repo>/.cache/kafka-libs/.
# Missing redis-server / influxd / victoria-metrics are installed with apt-get.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
STATE="$ROOT/.services"
KAFKA_VERSION=3.9.1
KAFKA_LIBS="$ROOT/.cache/kafka-libs"
ALL_SERVICES=(kafka kafka-sasl redis influxdb victoria)

# shellcheck source=env.sh
. "$SCRIPT_DIR/env.sh"

# ---------------------------------------------------------------- helpers

say() { printf '%s\n' "$*"; }
die() { printf 'services.sh: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1fs", e - s }'; }

# Text that must appear in /proc/<pid>/cmdline, so a stale pid file never matches a recycled pid.
cmd_pattern() {
  case $1 in
    kafka) echo "kafka.Kafka $STATE/kafka/server.properties" ;;
    kafka-sasl) echo "kafka.Kafka $STATE/kafka-sasl/server.properties" ;;
    redis) echo redis-server ;;
    influxdb) echo influxd ;;
    victoria) echo victoria-metrics ;;
  esac
}

default_port() {
  case $1 in
    kafka) echo "$RIVULET_KAFKA_PORT" ;;
    kafka-sasl) echo "$RIVULET_KAFKA_SASL_PORT" ;;
    redis) echo "$RIVULET_REDIS_PORT" ;;
    influxdb) echo "$RIVULET_INFLUX_PORT" ;;
    victoria) echo "$RIVULET_VICTORIA_PORT" ;;
  esac
}

alive() { # pid: running and not a zombie
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}
dead() { ! alive "$1"; }

pid_of() { # service -> prints the pid of the instance this script started, if it is running
  local file="$STATE/$1/$1.pid" pid
  [[ -s $file ]] || return 1
  pid=$(tr -dc 0-9 <"$file")
  [[ -n $pid ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(cmd_pattern "$1")" || return 1
  echo "$pid"
}

port_of() { # service -> port it was started on (falls back to the configured one)
  local file="$STATE/$1/port"
  if [[ -s $file ]]; then cat "$file"; else default_port "$1"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_port() { # service port
  if port_open "$2"; then
    die "$1: port 127.0.0.1:$2 is already in use by a process this script did not start (see: ss -ltnp | grep $2)"
  fi
}

rotate() { [[ -f $1 ]] && mv -f "$1" "$1.1"; return 0; }

# wait_until <timeout-seconds> <pid or ""> <command...>: poll until the command succeeds;
# give up early if the pid dies.
wait_until() {
  local timeout=$1 pid=$2 deadline
  shift 2
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    [[ -z $pid ]] || alive "$pid" || return 1
    (($(date +%s) < deadline)) || return 1
    sleep 0.2
  done
}

fail_start() { # service log pid [extra log]
  {
    say "$1 failed to start; see ${2#"$ROOT"/}"
    if grep -qE 'ERROR|FATAL|fatal|panic|Exception' "$2" 2>/dev/null; then
      say "  first error lines:"
      grep -E -m 8 -A 1 'ERROR|FATAL|fatal|panic|Exception' "$2" | cut -c1-300 | sed 's/^/  | /'
    fi
    say "  last lines:"
    tail -n 15 "$2" 2>/dev/null | cut -c1-300 | sed 's/^/  | /'
    if [[ -s ${4:-} ]]; then
      say "  ${4#"$ROOT"/}:"
      tail -n 15 "$4" | cut -c1-300 | sed 's/^/  | /'
    fi
  } >&2
  [[ -z ${3:-} ]] || stop_pid "$3" 5 >/dev/null
  exit 1
}

# stop_pid <pid> <timeout>: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local pid=$1 timeout=$2
  kill -TERM "$pid" 2>/dev/null || true
  wait_until "$timeout" "" dead "$pid" && return 0
  say "  (pid $pid still alive after ${timeout}s, sending SIGKILL)"
  kill -KILL "$pid" 2>/dev/null || true
  wait_until 5 "" dead "$pid"
}

# ---------------------------------------------------------------- installation

ensure_packages() { # services...
  local missing=() s
  for s in "$@"; do
    case $s in
      redis) command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server) ;;
      influxdb) command -v influxd >/dev/null || missing+=(influxdb) ;;
      victoria) command -v victoria-metrics >/dev/null || missing+=(victoria-metrics) ;;
      kafka | kafka-sasl)
        command -v java >/dev/null || die "kafka needs java (17+) on PATH"
        [[ -d $KAFKA_LIBS && -f $KAFKA_LIBS/.complete-$KAFKA_VERSION ]] ||
          command -v mvn >/dev/null || die "kafka needs mvn on PATH to fetch its jars"
        ;;
    esac
  done
  ((${#missing[@]})) || return 0
  command -v curl >/dev/null || missing+=(curl)

  local sudo=() apt_log="$STATE/apt.log" policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  ((EUID == 0)) || sudo=(sudo)
  mkdir -p "$STATE"
  say "installing ${missing[*]} with apt-get (log: ${apt_log#"$ROOT"/})"
  # The packages' maintainer scripts would start system instances on the default ports:
  # a temporary policy-rc.d (exit 101 = "action forbidden") stops that; we run our own instances.
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  {
    "${sudo[@]}" apt-get update -q &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  } >"$apt_log" 2>&1 || rc=$?
  ((made_policy == 0)) || "${sudo[@]}" rm -f "$policy"
  if ((rc != 0)); then
    tail -n 30 "$apt_log" | sed 's/^/  | /' >&2
    die "apt-get install failed (exit $rc)"
  fi
}

kafka_fetch_jars() {
  [[ -f $KAFKA_LIBS/.complete-$KAFKA_VERSION ]] && return 0
  local tmp="$ROOT/.cache/kafka-libs.tmp" mvn_log="$STATE/kafka/mvn.log" t0
  t0=$(now)
  rm -rf "$tmp"
  mkdir -p "$tmp/pom"
  # Build from a copy of the pom so Maven's target/ never lands in scripts/.
  cp "$SCRIPT_DIR/kafka/pom.xml" "$tmp/pom/pom.xml"
  say "kafka: fetching Kafka $KAFKA_VERSION jars from Maven Central (first run only)"
  if ! mvn -B -q -f "$tmp/pom/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp/libs" >"$mvn_log" 2>&1; then
    tail -n 30 "$mvn_log" | sed 's/^/  | /' >&2
    die "kafka: mvn dependency:copy-dependencies failed (log: ${mvn_log#"$ROOT"/})"
  fi
  [[ -f $tmp/libs/kafka_2.13-$KAFKA_VERSION.jar ]] || die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
  touch "$tmp/libs/.complete-$KAFKA_VERSION"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp/libs" "$KAFKA_LIBS"
  rm -rf "$tmp"
  say "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars cached in ${KAFKA_LIBS#"$ROOT"/} ($(since "$t0"))"
}

# ---------------------------------------------------------------- services

# start_kafka <service> <template> <port> <controller port> <min heap> <max heap> [StorageTool format options...]
start_kafka() {
  local s=$1 template=$2 port=$3 cport=$4 xms=$5 xmx=$6 dir="$STATE/$1" t0 pid id
  local log4j="-Dlog4j.configuration=file:$SCRIPT_DIR/kafka/log4j.properties"
  shift 6
  t0=$(now)
  if pid=$(pid_of "$s"); then
    say "$s already running on 127.0.0.1:$(port_of "$s") (pid $pid)"
    return 0
  fi
  require_free_port "$s" "$port"
  require_free_port "$s-controller" "$cport"
  mkdir -p "$dir/data"
  kafka_fetch_jars
  sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$cport|g" -e "s|@LOG_DIR@|$dir/data|g" \
    "$SCRIPT_DIR/kafka/$template" >"$dir/server.properties"
  [[ $s != kafka-sasl ]] || kafka_sasl_jaas >>"$dir/server.properties"
  rotate "$dir/server.log"
  rotate "$dir/stdout.log"
  if [[ ! -f $dir/data/meta.properties ]]; then
    id=$(java -cp "$KAFKA_LIBS/*" "$log4j" -Dkafka.logs.dir="$dir" kafka.tools.StorageTool random-uuid)
    java -cp "$KAFKA_LIBS/*" "$log4j" -Dkafka.logs.dir="$dir" \
      kafka.tools.StorageTool format -g -t "$id" -c "$dir/server.properties" "$@" >"$dir/format.log" 2>&1 ||
      fail_start "$s" "$dir/format.log"
  fi
  # setsid: own session, so the broker outlives the shell (and npm) that started it.
  setsid nohup java -Xms"$xms" -Xmx"$xmx" -XX:+UseG1GC -Djava.awt.headless=true \
    "$log4j" -Dkafka.logs.dir="$dir" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >"$dir/stdout.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$dir/$s.pid"
  echo "$port" >"$dir/port"
  wait_until 90 "$pid" grep -q 'Kafka Server started' "$dir/server.log" ||
    fail_start "$s" "$dir/server.log" "$pid" "$dir/stdout.log"
  say "$s ready on 127.0.0.1:$port ($(since "$t0"))"
}

up_kafka() {
  start_kafka kafka server.properties.template "$RIVULET_KAFKA_PORT" "$RIVULET_KAFKA_CONTROLLER_PORT" 512m 1g
}

# A JAAS value, double-quoted (test passwords: no quotes or backslashes, which would need escaping twice).
jaas_quote() {
  [[ $1 != *[\"\\]* ]] || die "kafka-sasl: a password with \" or \\ is not supported here"
  printf '"%s"' "$1"
}

# The PLAIN users (JAAS user_<name>="<password>", with the broker's own inter-broker login).
kafka_sasl_jaas() {
  printf 'listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret" user_%s=%s;\n' \
    "$RIVULET_KAFKA_PLAIN_USER" "$(jaas_quote "$RIVULET_KAFKA_PLAIN_PASSWORD")"
}

up_kafka_sasl() {
  # SCRAM credentials live in the cluster metadata: created once, when the storage is formatted.
  start_kafka kafka-sasl server-sasl.properties.template "$RIVULET_KAFKA_SASL_PORT" \
    "$RIVULET_KAFKA_SASL_CONTROLLER_PORT" 256m 512m \
    --add-scram "SCRAM-SHA-512=[name=$RIVULET_KAFKA_SCRAM_USER,password=\"$RIVULET_KAFKA_SCRAM_PASSWORD\"]"
}

redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

up_redis() {
  local dir="$STATE/redis" port=$RIVULET_REDIS_PORT t0 pid
  t0=$(now)
  if pid=$(pid_of redis); then
    say "redis already running on 127.0.0.1:$(port_of redis) (pid $pid)"
    return 0
  fi
  require_free_port redis "$port"
  mkdir -p "$dir"
  rotate "$dir/redis.log"
  rm -f "$dir/redis.pid"
  echo "$port" >"$dir/port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" 9>&- ||
    fail_start redis "$dir/redis.log"
  wait_until 20 "" redis_ping "$port" || fail_start redis "$dir/redis.log" "$(pid_of redis || true)"
  say "redis ready on 127.0.0.1:$port ($(since "$t0"))"
}

influx_ping() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ping") == 204 ]]; }

influx_create_db() {
  curl -fsS -o /dev/null -X POST "http://127.0.0.1:$1/query" --data-urlencode "q=CREATE DATABASE $RIVULET_INFLUX_DB"
}

up_influxdb() {
  local dir="$STATE/influxdb" port=$RIVULET_INFLUX_PORT rpc=$RIVULET_INFLUX_RPC_PORT t0 pid
  t0=$(now)
  if pid=$(pid_of influxdb); then
    influx_create_db "$(port_of influxdb)" || true
    say "influxdb already running on 127.0.0.1:$(port_of influxdb) (pid $pid)"
    return 0
  fi
  require_free_port influxdb "$port"
  require_free_port influxdb-rpc "$rpc"
  mkdir -p "$dir"
  rotate "$dir/influxd.log"
  INFLUXDB_META_DIR="$dir/meta" INFLUXDB_DATA_DIR="$dir/data" INFLUXDB_DATA_WAL_DIR="$dir/wal" \
    INFLUXDB_HTTP_BIND_ADDRESS="127.0.0.1:$port" INFLUXDB_BIND_ADDRESS="127.0.0.1:$rpc" \
    INFLUXDB_REPORTING_DISABLED=true INFLUXDB_HTTP_LOG_ENABLED=false \
    setsid nohup influxd -config /dev/null </dev/null >"$dir/influxd.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$dir/influxdb.pid"
  echo "$port" >"$dir/port"
  wait_until 30 "$pid" influx_ping "$port" || fail_start influxdb "$dir/influxd.log" "$pid"
  influx_create_db "$port" || fail_start influxdb "$dir/influxd.log" "$pid"
  say "influxdb ready on 127.0.0.1:$port, database $RIVULET_INFLUX_DB ($(since "$t0"))"
}

up_victoria() {
  local dir="$STATE/victoria" port=$RIVULET_VICTORIA_PORT t0 pid
  t0=$(now)
  if pid=$(pid_of victoria); then
    say "victoria already running on 127.0.0.1:$(port_of victoria) (pid $pid)"
    return 0
  fi
  require_free_port victoria "$port"
  mkdir -p "$dir/data"
  rotate "$dir/victoria.log"
  setsid nohup victoria-metrics -storageDataPath="$dir/data" -retentionPeriod=1d \
    -httpListenAddr="127.0.0.1:$port" -search.latencyOffset=0s \
    </dev/null >"$dir/victoria.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$dir/victoria.pid"
  echo "$port" >"$dir/port"
  wait_until 30 "$pid" curl -fsS "http://127.0.0.1:$port/health" || fail_start victoria "$dir/victoria.log" "$pid"
  say "victoria ready on 127.0.0.1:$port ($(since "$t0"))"
}

down_service() {
  local s=$1 pid t0 timeout=15
  t0=$(now)
  if ! pid=$(pid_of "$s"); then
    rm -f "$STATE/$s/$s.pid"
    say "$s not running"
    return 0
  fi
  [[ $s == kafka* ]] && timeout=30
  if [[ $s == redis ]]; then
    redis-cli -h 127.0.0.1 -p "$(port_of redis)" shutdown nosave >/dev/null 2>&1 || true
  fi
  stop_pid "$pid" "$timeout"
  rm -f "$STATE/$s/$s.pid"
  say "$s stopped (pid $pid, $(since "$t0"))"
}

status_service() {
  local s=$1 pid port
  port=$(port_of "$s")
  if pid=$(pid_of "$s"); then
    if port_open "$port"; then
      printf '%-10s running  pid %-7s 127.0.0.1:%s\n' "$s" "$pid" "$port"
    else
      printf '%-10s starting pid %-7s 127.0.0.1:%s (port not open yet)\n' "$s" "$pid" "$port"
      return 1
    fi
  else
    printf '%-10s stopped\n' "$s"
    return 1
  fi
}

# ---------------------------------------------------------------- main

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  (($# >= 1)) || usage
  local cmd=$1 s rc=0
  shift
  local services=("$@")
  ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
  for s in "${services[@]}"; do
    [[ " ${ALL_SERVICES[*]} " == *" $s "* ]] || die "unknown service '$s' (expected: ${ALL_SERVICES[*]})"
  done

  # One invocation at a time (e.g. two test runners calling `up` together).
  # fd 9 is closed (9>&-) for every server started below, so they do not inherit the lock.
  if [[ $cmd == up || $cmd == down ]]; then
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock 9
  fi

  case $cmd in
    up)
      ensure_packages "${services[@]}"
      for s in "${services[@]}"; do "up_${s//-/_}"; done
      ;;
    down)
      for ((i = ${#services[@]} - 1; i >= 0; i--)); do down_service "${services[i]}"; done
      ;;
    status)
      for s in "${services[@]}"; do status_service "$s" || rc=1; done
      return "$rc"
      ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
