#!/usr/bin/env bash
# A local cluster on 127.0.0.1, for users trying it, tests and benchmarks: one
# redis-server (the broker), N backtestd nodes sharing one QuestDB, and HAProxy in front
# (gRPC over HTTP/2 cleartext, round robin, health-checked nodes).
#
#   cluster.sh start DIR [--nodes N] [--slots K] [--name NAME] [-- BACKTESTD-ARGS...]
#       N nodes (default 3) named NAME-1..NAME-N (default node-1..), each with
#       --max-running K when given; the arguments after -- go to every node. Ports are
#       free ones; configs, logs and pid files go in DIR. Waits until every part
#       answers, then prints the addresses as `export` lines (also in DIR/env).
#   cluster.sh stop DIR      stops everything started in DIR (SIGTERM, SIGKILL after 30 s)
#   cluster.sh status DIR    each part: its address, process, answer; exit 3 if one is down
#   cluster.sh haproxy-config [--stats SOCKET] BIND NODE...
#       prints the HAProxy configuration `start` uses, BIND (host:port) in front of the
#       NODE addresses: a start for a load balancer of real machines
#
# QuestDB is yours to run: set QUESTDB_HTTP and QUESTDB_PG (as for backtestd). The nodes
# run BACKTESTD_BIN, else the newer of .build/release/backtestd and .build/debug/backtestd.
# Needs Debian's redis-server, haproxy, curl and python3 (tools/setup.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
say() { echo "cluster: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The process in DIR/PART/pid, if it still runs the program it was started as (a pid can
# be reused): that program's name is in DIR/PART/comm.
live_pid() {
  local pid
  pid=$(cat "$1/$2/pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$(cat "$1/$2/comm" 2>/dev/null)" ] && echo "$pid"
}

# Starts a part in the background, in a session of its own (a terminal's ^C is not
# for it), and records its pid and program name. SIGTERM reaches it whatever its starter
# blocked or ignored (a test process's threads block it; redis-server keeps that mask).
launch() {
  local part_dir=$1 log=$2
  shift 2
  setsid nohup python3 -c 'import os, signal, sys
signal.pthread_sigmask(signal.SIG_SETMASK, [])
signal.signal(signal.SIGTERM, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@" </dev/null >"$log" 2>&1 &
  echo $! >"$part_dir/pid"
  basename "$1" | cut -c1-15 >"$part_dir/comm"
}

# Health/Check over Connect with JSON (no .proto needed): prints the status, e.g. SERVING.
health() {
  curl -s --max-time 5 --http2-prior-knowledge -H 'content-type: application/json' -d '{}' \
    "http://$1/grpc.health.v1.Health/Check" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status","?"))' 2>/dev/null || echo "no answer"
}

redis_ping() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null || echo "no answer"; }

# The parts of a cluster directory, in the order `stop` takes them down: the front
# first, then the nodes together, then the broker.
parts() {
  echo haproxy
  for d in "$1"/node-*/; do [ -d "$d" ] && basename "$d"; done
  echo redis
}

# SIGTERM to these parts, then SIGKILL to any still running after 30 s.
stop_parts() {
  local dir=$1 part pid pids=()
  shift
  for part in "$@"; do
    if pid=$(live_pid "$dir" "$part"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for part in "$@"; do rm -f "$dir/$part/pid"; done
}

stop() {
  local dir=${1:?usage: cluster.sh stop DIR}
  [ -d "$dir" ] || return 0
  stop_parts "$dir" haproxy
  # shellcheck disable=SC2046 # node names have no spaces
  stop_parts "$dir" $(parts "$dir" | grep '^node-')
  stop_parts "$dir" redis
  rm -f "$dir/haproxy/stats.sock"
}

# The HAProxy configuration: BIND in front of the NODE addresses (servers node-1..N).
haproxy_config() {
  local stats=""
  [ "${1:-}" != --stats ] || { stats=$2; shift 2; }
  local bind=${1:?usage: cluster.sh haproxy-config [--stats SOCKET] BIND NODE...} i=0 node
  shift
  [ $# -gt 0 ] || { say "haproxy-config needs at least one node address"; exit 64; }
  cat <<CFG
global
    log stdout format raw local0
    # Never share the port with another process (SO_REUSEPORT): a second balancer
    # started on a taken port fails instead of splitting the connections with the first.
    noreuseport
CFG
  [ -z "$stats" ] || echo "    stats socket $stats mode 600 level admin"
  cat <<CFG

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout check 5s
    # Server streams (WatchProgress) last as long as a run: hours, with quiet stretches.
    timeout client 24h
    timeout server 24h
    timeout tunnel 24h
    # A call whose connection to a node failed (it never reached the node) goes to another.
    retries 3
    option redispatch 1

frontend grpc
    bind $bind proto h2
    default_backend nodes

backend nodes
    balance roundrobin
    # gRPC health in Connect's JSON form (a node whose store is unreachable says
    # NOT_SERVING), over h2 like the calls; nghttp2 wants a :authority (host).
    option httpchk
    http-check send meth POST uri /grpc.health.v1.Health/Check ver HTTP/2 hdr host localhost hdr content-type application/json body "{}"
    http-check expect string '"SERVING"'
    default-server proto h2 check inter 2s fall 2 rise 1
CFG
  for node in "$@"; do
    i=$((i + 1))
    echo "    server node-$i $node"
  done
}

# What HAProxy's health checks say of each node, from its stats socket: "lb sees NODE UP".
lb_view() {
  [ -S "$1/haproxy/stats.sock" ] || return 0
  python3 - "$1/haproxy/stats.sock" <<'PY' || true
import csv, io, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536): data += chunk
for row in csv.DictReader(io.StringIO(data.decode().lstrip("# "))):
    if row["pxname"] == "nodes" and row["svname"] not in ("BACKEND", "FRONTEND"):
        print(f"lb sees    {row['svname']:<21} {row['status']}")
PY
} 2>/dev/null

status() {
  local dir=${1:?usage: cluster.sh status DIR} name pid address down=0 answer
  [ -f "$dir/env" ] || { say "no cluster in $dir (no $dir/env)"; exit 3; }
  while read -r name; do
    address=$(cat "$dir/$name/address" 2>/dev/null || echo "?")
    if pid=$(live_pid "$dir" "$name"); then
      case $name in
        redis) answer=$(redis_ping "${address##*:}") ;;
        *) answer=$(health "$address") ;;
      esac
      case $answer in SERVING | PONG) ;; *) down=1 ;; esac
      printf '%-10s %-21s pid %-8s %s\n' "$name" "$address" "$pid" "$answer"
    else
      down=1
      printf '%-10s %-21s not running\n' "$name" "$address"
    fi
  done < <(parts "$dir")
  lb_view "$dir"
  [ $down = 0 ] || exit 3
}

start() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  shift
  local nodes=3 slots="" name=node
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes) nodes=${2:?--nodes needs a number}; shift 2 ;;
      --slots) slots=${2:?--slots needs a number}; shift 2 ;;
      --name) name=${2:?--name needs a name}; shift 2 ;;
      --) shift; break ;;
      *) say "unknown argument: $1"; usage ;;
    esac
  done
  [[ $nodes =~ ^[1-9][0-9]*$ ]] || { say "--nodes must be a positive number, got '$nodes'"; exit 64; }
  [ -z "$slots" ] || [[ $slots =~ ^[1-9][0-9]*$ ]] || { say "--slots must be a positive number, got '$slots'"; exit 64; }
  if [ -z "${QUESTDB_HTTP:-}" ] || [ -z "${QUESTDB_PG:-}" ]; then
    say "QUESTDB_HTTP and QUESTDB_PG must name the QuestDB the nodes share; start one first, e.g."
    say "  QUESTDB_HTTP=http://127.0.0.1:9000 QUESTDB_PG=postgresql://admin:quest@127.0.0.1:8812/qdb $0 start $dir"
    exit 1
  fi
  local tool
  for tool in redis-server redis-cli haproxy curl python3; do
    command -v "$tool" >/dev/null || { say "$tool is missing (tools/setup.sh installs it)"; exit 1; }
  done
  local bin=${BACKTESTD_BIN:-}
  if [ -z "$bin" ]; then
    for candidate in "$root/.build/release/backtestd" "$root/.build/debug/backtestd"; do
      [ -x "$candidate" ] && { [ -z "$bin" ] || [ "$candidate" -nt "$bin" ]; } && bin=$candidate
    done
  fi
  [ -n "$bin" ] && [ -x "$bin" ] || { say "no backtestd: swift build (or set BACKTESTD_BIN)"; exit 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local part
  while read -r part; do
    if live_pid "$dir" "$part" >/dev/null; then
      say "a cluster is already running in $dir: $0 stop $dir first"
      exit 1
    fi
  done < <(parts "$dir")
  rm -rf "$dir"/node-* "$dir/redis" "$dir/haproxy" "$dir/env"
  # From here on, any failure (or ^C) stops what was started.
  started=0 started_dir=$dir
  trap 'if [ $started = 0 ]; then say "start failed: stopping what it started"; stop "$started_dir"; fi' EXIT
  trap 'exit 130' INT TERM
  fail() { say "$*"; exit 1; }

  # The broker: no persistence, everything in DIR/redis.
  mkdir -p "$dir/redis"
  local redis_port
  redis_port=$(free_port)
  launch "$dir/redis" /dev/null redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir/redis" --logfile "$dir/redis/redis.log"
  echo "127.0.0.1:$redis_port" >"$dir/redis/address"

  # The nodes: a free port each (written to a file once listening), one QuestDB.
  local i node_dir
  for i in $(seq 1 "$nodes"); do
    node_dir="$dir/node-$i"
    mkdir -p "$node_dir"
    local args=(--host 127.0.0.1 --port 0 --port-file "$node_dir/port" --store questdb
      --questdb-http "$QUESTDB_HTTP" --questdb-pg "$QUESTDB_PG" --node-id "$name-$i"
      --questdb-spool "$node_dir/spool")
    [ -z "$slots" ] || args+=(--max-running "$slots")
    args+=(--broker "redis://127.0.0.1:$redis_port")
    launch "$node_dir" "$node_dir/backtestd.log" "$bin" "${args[@]}" "$@"
  done

  # Every node listening and SERVING (its store reachable), Redis answering.
  local deadline=$((SECONDS + 60))
  for i in $(seq 1 "$nodes"); do
    node_dir="$dir/node-$i"
    until [ -s "$node_dir/port" ] && [ "$(health "127.0.0.1:$(cat "$node_dir/port")")" = SERVING ]; do
      kill -0 "$(cat "$node_dir/pid")" 2>/dev/null || fail "node-$i exited; its log, $node_dir/backtestd.log:
$(tail -5 "$node_dir/backtestd.log")"
      [ $SECONDS -lt $deadline ] || fail "node-$i did not serve within 60 s; see $node_dir/backtestd.log"
      sleep 0.2
    done
    echo "127.0.0.1:$(cat "$node_dir/port")" >"$node_dir/address"
  done
  until [ "$(redis_ping "$redis_port")" = PONG ]; do
    kill -0 "$(cat "$dir/redis/pid")" 2>/dev/null || fail "redis-server exited (port $redis_port taken?); see $dir/redis/redis.log"
    [ $SECONDS -lt $deadline ] || fail "redis-server did not answer within 60 s; see $dir/redis/redis.log"
    sleep 0.2
  done

  # The load balancer: HTTP/2 cleartext on both sides, each call balanced on its own.
  mkdir -p "$dir/haproxy"
  local lb_port
  lb_port=$(free_port)
  local addresses=()
  for i in $(seq 1 "$nodes"); do addresses+=("$(cat "$dir/node-$i/address")"); done
  haproxy_config --stats "$dir/haproxy/stats.sock" "127.0.0.1:$lb_port" "${addresses[@]}" >"$dir/haproxy/haproxy.cfg"
  haproxy -c -q -f "$dir/haproxy/haproxy.cfg" || fail "haproxy rejected $dir/haproxy/haproxy.cfg"
  launch "$dir/haproxy" "$dir/haproxy/haproxy.log" haproxy -db -f "$dir/haproxy/haproxy.cfg"
  echo "127.0.0.1:$lb_port" >"$dir/haproxy/address"
  # Up when a call through it is answered and its checks see every node UP.
  until [ "$(health "127.0.0.1:$lb_port")" = SERVING ] && [ "$(lb_view "$dir" | grep -c ' UP$')" = "$nodes" ]; do
    kill -0 "$(cat "$dir/haproxy/pid")" 2>/dev/null || fail "haproxy exited (port $lb_port taken?); see $dir/haproxy/haproxy.log"
    [ $SECONDS -lt $deadline ] || fail "haproxy did not see every node up within 60 s; see $dir/haproxy/haproxy.log"
    sleep 0.2
  done
  started=1

  {
    echo "export CLUSTER_LB=127.0.0.1:$lb_port"
    echo "export BACKTEST_SERVER=127.0.0.1:$lb_port"
    for i in $(seq 1 "$nodes"); do echo "export CLUSTER_NODE_$i=${addresses[i - 1]}"; done
    echo "export CLUSTER_NODES='${addresses[*]}'"
    echo "export CLUSTER_REDIS=redis://127.0.0.1:$redis_port"
  } >"$dir/env"
  echo "# cluster up in $dir: haproxy, $nodes nodes ($bin), redis-server; stop: $0 stop $dir"
  cat "$dir/env"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop "${2:-}" ;;
  status) status "${2:-}" ;;
  haproxy-config) shift; haproxy_config "$@" ;;
  *) usage ;;
esac
