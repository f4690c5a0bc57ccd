#!/usr/bin/env bash
# The Elasticsearch-compatible test server for the backend contract tests (noida-db, a dev extra).
#
#   scripts/es_test_server.sh start [PORT]    start on PORT (default: first free port from 9210),
#                                             wait until healthy, print its URL on stdout
#   scripts/es_test_server.sh stop            stop it and delete its temporary data
#   scripts/es_test_server.sh run CMD...      start, run CMD with MEDSEARCH_ES_URL exported, stop
#                                             (also on failure or Ctrl-C), exit with CMD's status
#
# noida-db is a small ES-API-compatible server that reports itself as Elasticsearch 8.15.3: a test
# stand-in only (README "Scaling out" lists where it departs from Elasticsearch). When it is missing
# or does not start, `run` still runs CMD, without MEDSEARCH_ES_URL: the Elasticsearch half of the
# contract suite then skips and says why.
set -euo pipefail

STATE_DIR="${MEDSEARCH_ES_TEST_STATE:-${TMPDIR:-/tmp}/medsearch-es-test-$(id -u)}"
NOIDA="${NOIDA_DB:-}"
if [ -z "$NOIDA" ]; then
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/noida-db" ]; then NOIDA="$VIRTUAL_ENV/bin/noida-db"
  elif [ -x "$(dirname "$0")/../.venv/bin/noida-db" ]; then NOIDA="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/noida-db"
  else NOIDA="$(command -v noida-db || true)"; fi
fi

port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

healthy() {
  python3 - "$1" <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/_cluster/health", timeout=2) as r:
        sys.exit(0 if json.load(r).get("status") in ("green", "yellow") else 1)
except Exception:
    sys.exit(1)
PY
}

start() {
  if [ -z "$NOIDA" ]; then
    echo "es_test_server: noida-db is not installed (pip install -e '.[dev]'); Elasticsearch tests will skip" >&2
    return 1
  fi
  local port="${1:-}"
  if [ -z "$port" ]; then
    for candidate in $(seq 9210 9299); do
      if port_free "$candidate"; then port=$candidate; break; fi
    done
  fi
  [ -n "$port" ] || { echo "es_test_server: no free port in 9210-9299" >&2; return 1; }
  mkdir -p "$STATE_DIR"
  local data; data="$(mktemp -d "$STATE_DIR/data.XXXXXX")"
  echo "$data" > "$STATE_DIR/data_dir"
  # its own session (process group): the noida-db launcher runs the server as a child process, and
  # stop must end both
  setsid "$NOIDA" start --only elasticsearch --data-dir "$data" --host 127.0.0.1 --elasticsearch-port "$port" \
    > "$STATE_DIR/server.log" 2>&1 &
  echo $! > "$STATE_DIR/pid"
  local url="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if healthy "$url"; then echo "$url" > "$STATE_DIR/url"; echo "$url"; return 0; fi
    if ! kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "es_test_server: noida-db did not become healthy on $url; log:" >&2
  tail -n 20 "$STATE_DIR/server.log" >&2 || true
  stop
  return 1
}

stop() {
  if [ -f "$STATE_DIR/pid" ]; then
    local pid; pid="$(cat "$STATE_DIR/pid")"
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- "-$pid" 2>/dev/null || true
    rm -f "$STATE_DIR/pid" "$STATE_DIR/url"
  fi
  if [ -f "$STATE_DIR/data_dir" ]; then rm -rf "$(cat "$STATE_DIR/data_dir")" "$STATE_DIR/data_dir"; fi
}

case "${1:-}" in
  start) shift; start "${1:-}" ;;
  stop) stop ;;
  run)
    shift
    if [ -n "${MEDSEARCH_ES_URL:-}" ]; then exec "$@"; fi   # a real cluster was given: use it
    # a state directory of its own: two concurrent `make test` runs never stop each other's server
    STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/medsearch-es-test-run.XXXXXX")"
    trap 'stop; rm -rf "$STATE_DIR"' EXIT INT TERM
    if url="$(start)"; then
      export MEDSEARCH_ES_URL="$url"
      echo "es_test_server: noida-db at $url (MEDSEARCH_ES_URL)" >&2
    fi
    set +e; "$@"; status=$?; set -e
    exit $status ;;
  *) echo "usage: $0 start [PORT] | stop | run CMD..." >&2; exit 2 ;;
esac
