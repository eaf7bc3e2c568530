#!/usr/bin/env bash
# How long the whole app takes to come up and to go away, as `./centaur up` runs it: the built AppHost as its own
# process (dashboard, embedded Postgres, api, slack, ironproxy) on free ports and a throw-away state folder.
#   up:   AppHost started → dashboard answers and all three services' /health say 200 (target: < 60 s)
#   stop: SIGTERM → the AppHost, DCP, postgres and every service gone
# Baseline, measured in the same run while the app is up: one Centaur.Api process started alone against the app's
# Postgres until its /health says 200, i.e. what orchestrating four processes costs over starting one.
# Usage: bench/up.sh [runs] (default 3). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ASPIRE_VERSION_CHECK_DISABLED=true
runs=${1:-3}
dotnet build src/Centaur.AppHost -v q -nologo >/dev/null
apphost_dir=src/Centaur.AppHost/bin/Debug/net10.0
api_dll=$PWD/src/Centaur.Api/bin/Debug/net10.0/Centaur.Api.dll

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ]; }
# Every process of the app: the AppHost's descendants and DCP's API server (detached, names it with --monitor).
app_processes() {
  local roots
  roots=$(pgrep -f -- "--monitor $1( |$)" || true)
  for pid in $1 $roots; do echo "$pid"; pstree -pT "$pid" 2>/dev/null | grep -o '([0-9]*)' | tr -d '()'; done | sort -u
}

ups=() stops=() alone=()
for run in $(seq "$runs"); do
  state=$(mktemp -d /tmp/centaur-bench-up-XXXX); chmod 755 "$state"
  dash=$(free_port) api=$(free_port) slack=$(free_port) proxy=$(free_port)
  start=$(now)
  (cd "$apphost_dir" && exec env ASPNETCORE_URLS="http://127.0.0.1:$dash" \
      ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://127.0.0.1:$(free_port)" \
      ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://127.0.0.1:$(free_port)" \
      ASPIRE_ALLOW_UNSECURED_TRANSPORT=true DOTNET_ENVIRONMENT=Development \
      Ports__api="$api" Ports__slack="$slack" Ports__ironproxy="$proxy" Centaur__StateDirectory="$state" \
      Parameters__postgres-password=bench-up-password-0123456789 \
      Parameters__sandbox-token-key=bench-up-sandbox-token-key-0123456789 \
      Parameters__slack-api-key=bench-up-slack-api-key-0123456789 \
      Parameters__ironproxy-api-key=bench-up-ironproxy-api-key-0123456789 \
      Parameters__admin-api-key=bench-up-admin-api-key-0123456789 \
      dotnet Centaur.AppHost.dll >"$state/apphost.log" 2>&1) &
  apphost=$!
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$dash/" && healthy "http://127.0.0.1:$api/health" \
      && healthy "http://127.0.0.1:$slack/health" && healthy "http://127.0.0.1:$proxy/health"; do
    if ! kill -0 "$apphost" 2>/dev/null || [ "$(echo "$(now) - $start > 240" | bc)" = 1 ]; then
      echo "the app did not come up (log: $state/apphost.log)" >&2; exit 1
    fi
    sleep 0.2
  done
  ups+=("$(echo "$(now) - $start" | bc)")

  # The baseline: one API process alone, over the app's own Postgres (its port is on postgres's command line).
  pg_port=$(pgrep -af "postgres -D $state/postgres" | grep -o -- '-p [0-9]*' | head -1 | cut -d' ' -f2)
  alone_port=$(free_port)
  alone_start=$(now)
  env ConnectionStrings__centaur="Host=127.0.0.1;Port=$pg_port;Username=postgres;Password=bench-up-password-0123456789;Database=centaur" \
      ASPNETCORE_URLS="http://127.0.0.1:$alone_port" Centaur__SandboxTokenKey=bench-up-sandbox-token-key-0123456789 \
      Logging__LogLevel__Default=Warning dotnet "$api_dll" >"$state/api-alone.log" 2>&1 &
  alone_pid=$!
  until healthy "http://127.0.0.1:$alone_port/health"; do
    kill -0 "$alone_pid" 2>/dev/null || { echo "the lone API exited (log: $state/api-alone.log)" >&2; exit 1; }
    sleep 0.1
  done
  alone+=("$(echo "$(now) - $alone_start" | bc)")
  kill "$alone_pid"; wait "$alone_pid" 2>/dev/null || true

  mapfile -t app < <(app_processes "$apphost")
  stop_start=$(now)
  kill -TERM "$apphost"
  while true; do
    left=0
    for pid in "${app[@]}"; do [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && left=$((left + 1)); done
    [ "$left" = 0 ] && break
    if [ "$(echo "$(now) - $stop_start > 120" | bc)" = 1 ]; then echo "$left processes of the app outlived SIGTERM by 120 s" >&2; exit 1; fi
    sleep 0.2
  done
  stops+=("$(echo "$(now) - $stop_start" | bc)")
  wait "$apphost" 2>/dev/null || true
  echo "run $run: up ${ups[-1]} s (${#app[@]} processes), one API alone ${alone[-1]} s, stop ${stops[-1]} s" >&2
  rm -rf "$state"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
up=$(median "${ups[@]}") stop=$(median "${stops[@]}") one=$(median "${alone[@]}")
printf '\n| measurement (median of %d) | seconds | ratio to one API alone |\n|---|---:|---:|\n' "$runs"
printf '| one Centaur.Api alone → healthy (baseline) | %.1f | 1.00× |\n' "$one"
printf '| AppHost → dashboard + api, slack, ironproxy healthy | %.1f | %.2f× |\n' "$up" "$(echo "$up / $one" | bc -l)"
printf '| SIGTERM → no process of the app left | %.1f | %.2f× |\n' "$stop" "$(echo "$stop / $one" | bc -l)"
# For bench/run: RESULT|figure|measured|baseline|unit|target
echo "RESULT|up: AppHost → every service healthy (vs one API alone)|$up|$one|s|<60"
echo "RESULT|up: SIGTERM → no process left (vs one API start)|$stop|$one|s|"
