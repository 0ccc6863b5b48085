#!/usr/bin/env bash
# Side-by-side throughput: the same harness scenarios against each server, server pinned to
# core 0 and load to core 1. Closed model (saturation throughput): --concurrency browsers
# loop back to back for DURATION per scenario. Prints a markdown table; reports go to
# bench/compare/out/<server>-<scenario>/.
# Usage: bench/compare/run-compare.sh [DURATION] [CONCURRENCY] [SERVERS...]
#   SERVERS: oidc-provider django-oauth-toolkit homeroom (homeroom needs HOMEROOM_SEED_FILE
#   and a server already running on HOMEROOM_URL, e.g. pinned with `taskset -c 0`).
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
DURATION="${1:-10s}"; CONC="${2:-32}"; shift 2 || true
SERVERS=("${@:-oidc-provider django-oauth-toolkit}")
SCENARIOS=(instant_login client_credentials refresh password_login)
mkdir -p out
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() {
  case "$1" in
    oidc-provider)
      (cd oidc-provider && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null)
      (cd oidc-provider && NODE_ENV=production PORT=3001 exec taskset -c 0 node server.js >../out/op.log 2>&1) &
      pids+=($!); URL=http://127.0.0.1:3001; SEED=oidc-provider/seed.json ;;
    django-oauth-toolkit)
      [ -f django-oauth-toolkit/seed.json ] || django-oauth-toolkit/setup.sh 200 >/dev/null
      (PORT=3002 exec taskset -c 0 django-oauth-toolkit/serve.sh >out/dot.log 2>&1) &
      pids+=($!); URL=http://127.0.0.1:3002/o; SEED=django-oauth-toolkit/seed.json ;;
    homeroom)
      URL="${HOMEROOM_URL:-http://127.0.0.1:8000}"; SEED="${HOMEROOM_SEED_FILE:?set HOMEROOM_SEED_FILE}" ;;
  esac
  sleep 2
}

echo "| server | scenario | flows/s | p50 ms | p99 ms | errors |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for server in ${SERVERS[@]}; do
  start "$server"
  for scenario in "${SCENARIOS[@]}"; do
    dir="out/$server-$scenario"
    taskset -c 1 "$ROOT/.venv/bin/homeroom" loadtest run --url "$URL" --scenario "$scenario" \
      --closed --concurrency "$CONC" --duration "$DURATION" --seed-file "$SEED" \
      --report "$dir" --json >"$dir.json" 2>"$dir.err" || true
    "$ROOT/.venv/bin/python" - "$server" "$scenario" "$dir.json" <<'PY'
import json, sys
server, scenario, path = sys.argv[1:]
try:
    s = json.load(open(path))
except Exception as exc:
    print(f"| {server} | {scenario} | run failed ({type(exc).__name__}) | | | |"); raise SystemExit
flow = s["steps"].get(f"{scenario}.flow", {"p50_ms": 0, "p99_ms": 0})
print(f"| {server} | {scenario} | {s['flows_per_s']:.0f} | {flow['p50_ms']:.1f} | {flow['p99_ms']:.1f} | {s['flows_failed']} |")
PY
  done
  cleanup; pids=()
  sleep 1
done
