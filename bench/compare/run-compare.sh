#!/usr/bin/env bash
# Side-by-side throughput: the same harness scenarios against each server, server pinned to
# core 0 and load to core 1. Closed model (saturation throughput): --concurrency browsers
# loop back to back for DURATION per scenario. Prints a markdown table; reports go to
# bench/compare/out/<server>-<scenario>[-<round>]/.
# Usage: [ROUNDS=N] [SCENARIOS="..."] bench/compare/run-compare.sh [DURATION] [CONCURRENCY] [SERVERS...]
#   SERVERS: homeroom oidc-provider django-oauth-toolkit (default: all three), and
#   oidc-provider-jwt (client credentials with JWT access tokens, on request). Each is
#   started here, on loopback only, and all of them run for the whole run (an idle server
#   costs nothing measurable).
#   The servers take turns within each scenario: round 1 runs the scenario against each
#   server, round 2 again, and so on (ROUNDS, default 1). This machine's speed drifts by up
#   to 2x within minutes, so a ratio between two servers is only as good as the time between
#   their windows: here it is one window, not a whole block of scenarios. After the table
#   comes each scenario's ratio to oidc-provider per round, and the median of the rounds.
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
ROUNDS="${ROUNDS:-1}"
RESULTS=out/results.tsv
: >"$RESULTS"
declare -A URL_OF SEED_OF PIDS_OF CONC_OF WARMUP_OF

start() {
  local warmup="" sconc="$CONC" url seed spids
  case "$1" in
    oidc-provider)
      (cd oidc-provider && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null)
      (cd oidc-provider && NODE_ENV=production PORT=3001 exec taskset -c 0 node server.js >../out/op.log 2>&1) &
      pids+=($!); spids=($!); url=http://127.0.0.1:3001; seed=oidc-provider/seed.json ;;
    oidc-provider-jwt)
      # The same server issuing ES256 JWT client-credentials access tokens (RFC 9068), as
      # Homeroom does, instead of opaque in-memory handles; run it with SCENARIOS=client_credentials.
      (cd oidc-provider && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null)
      (cd oidc-provider && NODE_ENV=production PORT=3003 ACCESS_TOKEN_FORMAT=jwt exec taskset -c 0 node server.js >../out/op-jwt.log 2>&1) &
      pids+=($!); spids=($!); url=http://127.0.0.1:3003; seed=oidc-provider/seed.json ;;
    django-oauth-toolkit)
      [ -f django-oauth-toolkit/seed.json ] || django-oauth-toolkit/setup.sh 200 >/dev/null
      (PORT=3002 exec taskset -c 0 django-oauth-toolkit/serve.sh >out/dot.log 2>&1) &
      # One sync worker serves one request at a time, and every browser signs in (argon2id)
      # before the window: fewer browsers and a longer warm-up.
      pids+=($!); spids=($!); url=http://127.0.0.1:3002/o; seed=django-oauth-toolkit/seed.json
      sconc="${DOT_CONCURRENCY:-4}"; warmup="--warmup 20" ;;
    homeroom)
      # The quick-start server (embedded SQLite, in-process KV, one uvicorn process).
      export HOMEROOM_DATA_DIR="$PWD/out/homeroom-data" HOMEROOM_PORT="$HPORT" \
        HOMEROOM_ISSUER="http://127.0.0.1:$HPORT" HOMEROOM_LOG_LEVEL=warning \
        HOMEROOM_RATE_LIMIT_IP=1000000/minute HOMEROOM_RATE_LIMIT_CLIENT=1000000/minute
      # (every virtual user is one app's, from 127.0.0.1: the default 3000/minute per
      # client would measure the rate limiter in the refresh and client-credentials
      # scenarios, not the server; the address budget counts only failures, raised so
      # that a failing run shows its failures and not 429s; the limiter itself still runs)
      rm -rf "$HOMEROOM_DATA_DIR"
      "$ROOT/.venv/bin/homeroom" migrate >/dev/null
      echo "homeroom-compare-password" | "$ROOT/.venv/bin/homeroom" loadtest seed \
        --district loadtest --users 200 --out out/homeroom-seed.json --password-stdin >/dev/null
      (exec taskset -c 0 "$ROOT/.venv/bin/homeroom" serve >out/homeroom.log 2>&1) &
      pids+=($!); spids=($!); url="http://127.0.0.1:$HPORT"; seed=out/homeroom-seed.json ;;
  esac
  sleep 3
  for p in "${spids[@]}"; do spids+=($(pgrep -P "$p" || true)); done  # gunicorn/uvicorn workers
  URL_OF[$1]="$url"; SEED_OF[$1]="$seed"; PIDS_OF[$1]="${spids[*]}"
  CONC_OF[$1]="$sconc"; WARMUP_OF[$1]="$warmup"
}

raw_argon2() {
  (cd "$ROOT" && taskset -c 0 .venv/bin/python -m bench.argon2_rate 1 | sed -E 's/.*: ([0-9.]+) verifications.*/\1/')
}

for server in ${SERVERS[@]}; do start "$server"; done

echo "| server | scenario | round | flows/s (wall) | flows per server CPU-s | p50 ms | p99 ms | errors |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for scenario in "${SCENARIOS[@]}"; do
  for round in $(seq 1 "$ROUNDS"); do
    for server in ${SERVERS[@]}; do
      dir="out/$server-$scenario"; [ "$ROUNDS" -gt 1 ] && dir="$dir-$round"
      if [ "$scenario" = badge_login ] && [ "$server" != homeroom ]; then
        [ "$round" = 1 ] && echo "| $server | $scenario | | no QR badges | | | | |"
        continue
      fi
      raw_before=""
      if [ "$server" = homeroom ] && [ "$scenario" = password_login ]; then
        # The password target is relative to the raw argon2id rate of the server's core:
        # measured on the same core right before and right after the scenario.
        raw_before=$(raw_argon2)
      fi
      taskset -c 1 "$ROOT/.venv/bin/homeroom" loadtest run --url "${URL_OF[$server]}" \
        --scenario "$scenario" --closed --concurrency "${CONC_OF[$server]}" ${WARMUP_OF[$server]} \
        --duration "$DURATION" --seed-file "${SEED_OF[$server]}" --report "$dir" --json \
        $(printf -- '--server-pid %s ' ${PIDS_OF[$server]}) >"$dir.json" 2>"$dir.err" || true
      raw_after=""
      [ -n "$raw_before" ] && raw_after=$(raw_argon2)
      "$ROOT/.venv/bin/python" - "$server" "$scenario" "$round" "$dir.json" "$RESULTS" \
        "$raw_before" "$raw_after" <<'PY'
import json, sys
server, scenario, round_, path, results, before, after = sys.argv[1:]
try:
    s = json.load(open(path))
except Exception as exc:
    print(f"| {server} | {scenario} | {round_} | run failed ({type(exc).__name__}) | | | | |")
    raise SystemExit
flow = s["steps"].get(f"{scenario}.flow", {"p50_ms": 0, "p99_ms": 0})
per_cpu = s.get("flows_per_server_cpu_s")
print(f"| {server} | {scenario} | {round_} | {s['flows_per_s']:.0f} | "
      f"{per_cpu if per_cpu is not None else 'n/a'} | {flow['p50_ms']:.1f} | "
      f"{flow['p99_ms']:.1f} | {s['flows_failed']} |")
raw = ""
if before and after and per_cpu:
    raw_rate = (float(before) + float(after)) / 2
    raw = f"{100 * per_cpu / raw_rate:.1f}"
    print(f"password sign-in: {per_cpu} flows per server CPU-s = {raw} % of raw argon2id on "
          f"core 0 ({float(before):.1f} before, {float(after):.1f} after, verifications per "
          "CPU-s)", file=sys.stderr)
with open(results, "a") as out:
    out.write(f"{server}\t{scenario}\t{round_}\t{per_cpu or ''}\t{s['flows_failed']}\t{raw}\n")
PY
    done
  done
done
cleanup; pids=()

"$ROOT/.venv/bin/python" - "$RESULTS" <<'PY'
import statistics, sys
from collections import defaultdict
rate: dict[tuple[str, str, str], float] = {}
raw: dict[str, list[float]] = defaultdict(list)
for line in open(sys.argv[1]):
    server, scenario, round_, per_cpu, _failed, raw_pct = line.rstrip("\n").split("\t")
    if per_cpu:
        rate[server, scenario, round_] = float(per_cpu)
    if raw_pct:
        raw[scenario].append(float(raw_pct))
scenarios = list(dict.fromkeys(s for _, s, _ in rate))
rounds = sorted({r for _, _, r in rate}, key=int)
print()
print("| scenario | Homeroom / oidc-provider, per round | median | Homeroom / django-oauth-toolkit, median | Homeroom / oidc-provider-jwt, per round (median) |")
print("| --- | --- | ---: | ---: | ---: |")
for scenario in scenarios:
    cells = []
    for other in ("oidc-provider", "django-oauth-toolkit", "oidc-provider-jwt"):
        ratios = [rate["homeroom", scenario, r] / rate[other, scenario, r] for r in rounds
                  if ("homeroom", scenario, r) in rate and rate.get((other, scenario, r))]
        cells.append(ratios)
    op, dot, jwt = cells
    per_round = " / ".join(f"{x:.2f}x" for x in op) or "-"
    med = f"{statistics.median(op):.2f}x" if op else "-"
    dmed = f"{statistics.median(dot):.1f}x" if dot else "-"
    jmed = (" / ".join(f"{x:.2f}x" for x in jwt) + f" ({statistics.median(jwt):.2f}x)") if jwt else "-"
    print(f"| {scenario} | {per_round} | {med} | {dmed} | {jmed} |")
for scenario, pcts in raw.items():
    print(f"\n{scenario}: Homeroom at {' / '.join(f'{p:.0f} %' for p in pcts)} of raw argon2id "
          f"(median {statistics.median(pcts):.0f} %)")
PY
