#!/usr/bin/env bash
# The whole stack on one machine: an ingest, a latency, a categorize and a training worker, beat, Flower and the admin API.
#
#   deploy/stack.sh up | down | status | logs [SERVICE] [-f]
#
# Against the Redis and Postgres given by the environment (MANNA_BROKER_URL, MANNA_CACHE_URL,
# MANNA_DATABASE_URL), with MANNA_FLOWER_PASSWORD and MANNA_ADMIN_TOKEN set. Pid files and logs
# live in MANNA_STACK_DIR (default: $MANNA_DATA_DIR/stack, or .manna/stack). `up` applies the
# database migrations first and waits until each service answers; `down` asks each service to
# stop (warm shutdown: running tasks finish) and kills what is still there after 60 s.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"  # services resolve relative paths (the default data dir .manna) from the project root
BIN="${MANNA_BIN:-$ROOT/.venv/bin}"
STACK_DIR="${MANNA_STACK_DIR:-${MANNA_DATA_DIR:-$ROOT/.manna}/stack}"
CORES="$(nproc)"
SERVICES=(worker-ingest worker-latency worker-categorize worker-training beat flower api)

command_of() {
  case "$1" in
    # A message of up to one chunk (the default: 1,000 rows) is categorized by the ingest worker that
    # receives it, so that worker gets the cores; categorize only takes larger messages' chunks.
    worker-ingest)     echo "$BIN/celery -A workers.app worker -Q ingest -c $CORES -n ingest@%h --loglevel INFO" ;;
    # Small messages (workers.client sends up to MANNA_LATENCY_MAX_TRANSACTIONS rows there) skip the bulk backlog.
    worker-latency)    echo "$BIN/celery -A workers.app worker -Q latency -c 1 -n latency@%h --loglevel INFO" ;;
    worker-categorize) echo "$BIN/celery -A workers.app worker -Q categorize -c 1 -n categorize@%h --loglevel INFO" ;;
    worker-training)   echo "$BIN/celery -A workers.app worker -Q training -c 1 -n training@%h --loglevel INFO" ;;
    beat)              echo "$BIN/celery -A workers.app beat --schedule $STACK_DIR/beat-schedule --loglevel INFO" ;;
    flower)            echo "$BIN/manna flower --address ${MANNA_FLOWER_ADDRESS:-127.0.0.1} --port ${MANNA_FLOWER_PORT:-5555}" ;;
    api)               echo "$BIN/manna api --host ${MANNA_API_HOST:-127.0.0.1} --port ${MANNA_API_PORT:-8000}" ;;
    *) echo "unknown service: $1 (one of: ${SERVICES[*]})" >&2; return 2 ;;
  esac
}

pid_of() { cat "$STACK_DIR/$1.pid" 2>/dev/null || true; }
# Alive and still ours: a pid file left over from before a reboot may name another process.
running() {
  local pid; pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -qa -e "workers.app" -e "manna" "/proc/$pid/cmdline" 2>/dev/null
}

require() {
  local missing=()
  for name in MANNA_BROKER_URL MANNA_DATABASE_URL MANNA_FLOWER_PASSWORD MANNA_ADMIN_TOKEN; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
  done
  if ((${#missing[@]})); then
    echo "stack: set ${missing[*]} first (see deploy/README.md)" >&2
    exit 2
  fi
}

up() {
  require
  mkdir -p "$STACK_DIR"
  echo "stack: applying migrations"
  "$BIN/manna" db upgrade
  local -A log_from=()  # where each log's lines of this start begin (logs are appended to)
  for service in "${SERVICES[@]}"; do
    if running "$service"; then
      echo "stack: $service already running (pid $(pid_of "$service"))"
      continue
    fi
    log_from[$service]=$(($(stat -c %s "$STACK_DIR/$service.log" 2>/dev/null || echo 0) + 1))
    # shellcheck disable=SC2046  # the command line is split on purpose
    setsid $(command_of "$service") >>"$STACK_DIR/$service.log" 2>&1 < /dev/null &
    echo $! >"$STACK_DIR/$service.pid"
    echo "stack: started $service (pid $!)"
  done
  wait_ready log_from
}

# What the stack still waits for, one item a line; nothing once it is ready. Workers are pinged only
# after each has logged "ready." since its start (a cheap check while the services still import;
# every `celery inspect ping` is a Python process of its own, a second of CPU).
not_ready() {
  local -n from=$1
  local service pong waiting=()
  for service in "${!from[@]}"; do
    [[ "$service" == worker-* ]] || continue
    tail -c "+${from[$service]}" "$STACK_DIR/$service.log" | grep -q " ready\.$" || waiting+=("$service (starting)")
  done
  if ((${#waiting[@]})); then printf '%s\n' "${waiting[@]}"; return; fi
  pong="$("$BIN/celery" -A workers.app inspect ping --timeout 1 2>/dev/null || true)"
  for service in categorize ingest training latency; do
    grep -q "$service@" <<<"$pong" || echo "worker-$service (no answer to ping)"
  done
  curl -fsS "http://${MANNA_API_HOST:-127.0.0.1}:${MANNA_API_PORT:-8000}/healthz" >/dev/null 2>&1 ||
    echo "api (/healthz)"
  curl -fsS "http://${MANNA_FLOWER_ADDRESS:-127.0.0.1}:${MANNA_FLOWER_PORT:-5555}/healthcheck" >/dev/null 2>&1 ||
    echo "flower (/healthcheck)"
}

wait_ready() {
  local deadline=$((SECONDS + 90))
  local waiting
  until waiting="$(not_ready "$1")" && [[ -z "$waiting" ]]; do
    for service in "${SERVICES[@]}"; do
      if ! running "$service"; then
        echo "stack: $service exited; its log ends with:" >&2
        tail -n 20 "$STACK_DIR/$service.log" >&2
        exit 1
      fi
    done
    if ((SECONDS > deadline)); then
      echo "stack: not ready after 90 s, still waiting for: ${waiting//$'\n'/, }" >&2
      echo "stack: see deploy/stack.sh logs" >&2
      exit 1
    fi
    sleep 1
  done
  echo "stack: ready (workers answer, API healthy, Flower up)"
}

down() {
  for service in "${SERVICES[@]}"; do
    # The main process only: a Celery worker then finishes its running tasks (warm shutdown).
    if running "$service"; then kill -TERM "$(pid_of "$service")" 2>/dev/null || true; fi
  done
  local deadline=$((SECONDS + 60))
  for service in "${SERVICES[@]}"; do
    while running "$service" && ((SECONDS < deadline)); do sleep 0.5; done
    if running "$service"; then
      echo "stack: $service did not stop in 60 s; killing it" >&2
      kill -KILL -- "-$(pid_of "$service")" 2>/dev/null || true
    fi
    rm -f "$STACK_DIR/$service.pid"
    echo "stack: stopped $service"
  done
}

status() {
  for service in "${SERVICES[@]}"; do
    if running "$service"; then
      printf '%-18s running (pid %s)\n' "$service" "$(pid_of "$service")"
    else
      printf '%-18s stopped\n' "$service"
    fi
  done
  "$BIN/manna" status
}

logs() {
  local service="${1:-}" follow="${2:-}"
  if [[ -z "$service" ]]; then
    for s in "${SERVICES[@]}"; do echo "== $s"; tail -n 20 "$STACK_DIR/$s.log" 2>/dev/null || true; done
    return
  fi
  command_of "$service" >/dev/null
  if [[ "$follow" == "-f" ]]; then tail -n 50 -f "$STACK_DIR/$service.log"; else tail -n 50 "$STACK_DIR/$service.log"; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  logs) shift; logs "$@" ;;
  *) echo "usage: deploy/stack.sh up | down | status | logs [SERVICE] [-f]" >&2; exit 2 ;;
esac
