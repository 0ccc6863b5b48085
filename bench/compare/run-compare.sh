#!/usr/bin/env bash
# Side-by-side throughput: the same harness scenarios against each server, server pinned to
# core 0 and load to core 1. Closed model (saturation throughput): --concurrency browsers
# loop back to back for DURATION per scenario. Prints a markdown table; reports go to
# bench/compare/out/<server>-<scenario>/.
# Usage: bench/compare/run-compare.sh [DURATION] [CONCURRENCY] [SERVERS...]
#   SERVERS: homeroom oidc-provider django-oauth-toolkit (default: all three). Each is
#   started here, on loopback only.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
DURATION="${1:-10s}"; CONC="${2:-32}"; shift 2 || true
SERVERS=("${@:-homeroom oidc-provider django-oauth-toolkit}")
SCENARIOS=(${SCENARIOS:-instant_login client_credentials refresh password_login badge_login})
# COMPARE_HOMEROOM_PORT: another port for Homeroom when two sessions measure at once.
HPORT="${COMPARE_HOMEROOM_PORT:-3000}"
mkdir -p out
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() {
  WARMUP=""; SCONC="$CONC"
  case "$1" in
    oidc-provider)
      (cd oidc-provider && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null)
      (cd oidc-provider && NODE_ENV=production PORT=3001 exec taskset -c 0 node server.js >../out/op.log 2>&1) &
      pids+=($!); SPIDS=($!); URL=http://127.0.0.1:3001; SEED=oidc-provider/seed.json ;;
    django-oauth-toolkit)
      [ -f django-oauth-toolkit/seed.json ] || django-oauth-toolkit/setup.sh 200 >/dev/null
      (PORT=3002 exec taskset -c 0 django-oauth-toolkit/serve.sh >out/dot.log 2>&1) &
      # One sync worker serves one request at a time, and every browser signs in (argon2id)
      # before the window: fewer browsers and a longer warm-up.
      pids+=($!); SPIDS=($!); URL=http://127.0.0.1:3002/o; SEED=django-oauth-toolkit/seed.json
      SCONC="${DOT_CONCURRENCY:-4}"; WARMUP="--warmup 20" ;;
    homeroom)
      # The quick-start server (embedded SQLite, in-process KV, one uvicorn process).
      export HOMEROOM_DATA_DIR="$PWD/out/homeroom-data" HOMEROOM_PORT="$HPORT" \
        HOMEROOM_ISSUER="http://127.0.0.1:$HPORT" HOMEROOM_LOG_LEVEL=warning \
        HOMEROOM_RATE_LIMIT_IP=1000000/minute HOMEROOM_RATE_LIMIT_CLIENT=1000000/minute
      # (every virtual user comes from 127.0.0.1: the default 300/minute per address
      # would measure the rate limiter, not the server; the limiter itself still runs)
      rm -rf "$HOMEROOM_DATA_DIR"
      "$ROOT/.venv/bin/homeroom" migrate >/dev/null
      echo "homeroom-compare-password" | "$ROOT/.venv/bin/homeroom" loadtest seed \
        --district loadtest --users 200 --out out/homeroom-seed.json --password-stdin >/dev/null
      (exec taskset -c 0 "$ROOT/.venv/bin/homeroom" serve >out/homeroom.log 2>&1) &
      pids+=($!); SPIDS=($!); URL="http://127.0.0.1:$HPORT"; SEED=out/homeroom-seed.json ;;
  esac
  sleep 3
  for p in "${SPIDS[@]}"; do SPIDS+=($(pgrep -P "$p" || true)); done  # gunicorn/uvicorn workers
}

echo "| server | scenario | flows/s (wall) | flows per server CPU-s | p50 ms | p99 ms | errors |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for server in ${SERVERS[@]}; do
  start "$server"
  for scenario in "${SCENARIOS[@]}"; do
    dir="out/$server-$scenario"
    if [ "$scenario" = badge_login ] && [ "$server" != homeroom ]; then
      echo "| $server | $scenario | no QR badges | | | | |"; continue
    fi
    if [ "$server" = homeroom ] && [ "$scenario" = password_login ]; then
      # The password target is relative to the raw argon2id rate of the server's core, and
      # this machine's speed drifts by tens of percent within minutes: measure the raw rate
      # on the same core right before and right after the scenario.
      raw_before=$(cd "$ROOT" && taskset -c 0 .venv/bin/python -m bench.argon2_rate 1 | sed -E 's/.*: ([0-9.]+) verifications.*/\1/')
    fi
    taskset -c 1 "$ROOT/.venv/bin/homeroom" loadtest run --url "$URL" --scenario "$scenario" \
      --closed --concurrency "$SCONC" $WARMUP --duration "$DURATION" --seed-file "$SEED" \
      --report "$dir" --json $(printf -- '--server-pid %s ' "${SPIDS[@]}") >"$dir.json" 2>"$dir.err" || true
    "$ROOT/.venv/bin/python" - "$server" "$scenario" "$dir.json" <<'PY'
import json, sys
server, scenario, path = sys.argv[1:]
try:
    s = json.load(open(path))
except Exception as exc:
    print(f"| {server} | {scenario} | run failed ({type(exc).__name__}) | | | | |"); raise SystemExit
flow = s["steps"].get(f"{scenario}.flow", {"p50_ms": 0, "p99_ms": 0})
per_cpu = s.get("flows_per_server_cpu_s")
print(f"| {server} | {scenario} | {s['flows_per_s']:.0f} | {per_cpu if per_cpu is not None else 'n/a'} | {flow['p50_ms']:.1f} | {flow['p99_ms']:.1f} | {s['flows_failed']} |")
PY
    if [ "$server" = homeroom ] && [ "$scenario" = password_login ]; then
      raw_after=$(cd "$ROOT" && taskset -c 0 .venv/bin/python -m bench.argon2_rate 1 | sed -E 's/.*: ([0-9.]+) verifications.*/\1/')
      "$ROOT/.venv/bin/python" - "$dir.json" "$raw_before" "$raw_after" <<'PY' >&2
import json, sys
s = json.load(open(sys.argv[1])); before, after = float(sys.argv[2]), float(sys.argv[3])
per_cpu = s.get("flows_per_server_cpu_s") or 0
raw = (before + after) / 2
print(f"password sign-in: {per_cpu} flows per server CPU-s = {100 * per_cpu / raw:.0f} % of raw "
      f"argon2id on core 0 ({before:.1f} before, {after:.1f} after, verifications per CPU-s)")
PY
    fi
  done
  cleanup; pids=()
  sleep 1
done
