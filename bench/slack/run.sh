#!/usr/bin/env bash
# Ack latency of Centaur.Slack's POST /slack/events: RATE requests/s (default 200) for DURATION s (default 30) per
# scenario, open loop, against the real adapter process and a real Postgres on 127.0.0.1 (Debian's binaries).
# Prints p50/p99 per scenario with ratios against a baseline measured in the same run (url_verification: the same
# signature check and JSON parse, but no database write). The adapter runs without a bot token, so only the
# acknowledgement path (verify → store in slack_inbox → 200) is measured, not the turns behind it.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
export ASPIRE_VERSION_CHECK_DISABLED=true DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
RATE=${RATE:-200}
DURATION=${DURATION:-30}
SECRET=bench-signing-secret
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d /tmp/centaur-slack-bench.XXXXXX)
PG_PORT=$(( 20000 + RANDOM % 10000 ))
APP_PORT=$(( 30000 + RANDOM % 10000 ))
RUNAS=""
if [ "$(id -u)" = 0 ]; then
  RUNAS="setpriv --reuid=postgres --regid=postgres --init-groups"
  chmod 755 "$WORK"
  chown postgres:postgres "$WORK"
fi

ADAPTER_PID=""
cleanup() {
  if [ -n "$ADAPTER_PID" ]; then kill "$ADAPTER_PID" 2>/dev/null || true; wait "$ADAPTER_PID" 2>/dev/null || true; fi
  $RUNAS "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

$RUNAS "$PG_BIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 --no-instructions >/dev/null
$RUNAS "$PG_BIN/pg_ctl" -D "$WORK/pg" -o "-p $PG_PORT -h 127.0.0.1 -k ''" -l "$WORK/pg.log" -w start >/dev/null
"$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "CREATE DATABASE centaur"
# The adapter's tables (the API owns every migration; 0020-0029 are the Slack adapter's).
for migration in src/Centaur.Api/Migrations/002?_*.sql; do
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d centaur -q -f "$migration"
done

dotnet build src/Centaur.Slack -c Release -nologo -v q >/dev/null
ASPNETCORE_URLS="http://127.0.0.1:$APP_PORT" \
ConnectionStrings__centaur="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=centaur;Maximum Pool Size=64" \
Slack__SigningSecret="$SECRET" Slack__BotToken="" \
Logging__LogLevel__Default=Warning \
  dotnet src/Centaur.Slack/bin/Release/net10.0/Centaur.Slack.dll >"$WORK/adapter.log" 2>&1 &
ADAPTER_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$APP_PORT/alive" >/dev/null 2>&1 && break
  sleep 0.2
done

dotnet run bench/slack/SlackAckBench.cs -- "http://127.0.0.1:$APP_PORT" "$RATE" "$DURATION" "$SECRET"
echo
echo "inbox rows stored: $("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d centaur -tA -c 'SELECT count(*) FROM slack_inbox')"
