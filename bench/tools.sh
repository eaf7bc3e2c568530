#!/usr/bin/env bash
# Tools and workflows benchmark: starts a throw-away PostgreSQL and a Release build of Centaur.Api with the test
# overlay (for the three_steps workflow), then prints a table with ratios against baselines measured in the same
# run. Not part of the test suite. Usage: bench/tools.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build src/Centaur.Api -c Release -v q -nologo >/dev/null
dotnet build tests/Centaur.TestOverlay -c Release -v q -nologo >/dev/null
dotnet build bench/Centaur.Bench.Tools -c Release -v q -nologo >/dev/null

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/centaur-bench-tools-XXXXXX); chmod 755 "$work"
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
apiport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runas=(); [ "$(id -u)" = 0 ] && runas=(setpriv --reuid=postgres --regid=postgres --init-groups) && chown postgres "$work"
"${runas[@]}" "$bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --no-instructions >/dev/null
"${runas[@]}" "$bin/postgres" -D "$work/pg" -p "$pgport" -h 127.0.0.1 -k "" -c max_connections=300 >"$work/pg.log" 2>&1 &
pgpid=$!
api=""
cleanup() { [ -n "$api" ] && kill "$api" 2>/dev/null; kill -INT "$pgpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do "$bin/pg_isready" -h 127.0.0.1 -p "$pgport" -q && break; sleep 0.1; done
"$bin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -qc 'CREATE DATABASE centaur'
cs="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=centaur;Maximum Pool Size=200"

mkdir -p "$work/overlay/tools"
cp tests/Centaur.TestOverlay/bin/Release/net10.0/Centaur.TestOverlay.dll "$work/overlay/tools/"

key=ck_bench_0123456789
tokenkey=bench-key-0123456789
ConnectionStrings__centaur="$cs" ASPNETCORE_URLS="http://127.0.0.1:$apiport" \
  Centaur__SandboxTokenKey=$tokenkey Auth__BootstrapClients__bench=$key \
  Sandbox__Backend=process Overlay__Path="$work/overlay" Workflows__PollMilliseconds=50 \
  Logging__LogLevel__Default=Warning \
  dotnet src/Centaur.Api/bin/Release/net10.0/Centaur.Api.dll >"$work/api.log" 2>&1 &
api=$!
for _ in $(seq 300); do
  curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$apiport/agent/threads?limit=1" >/dev/null && break; sleep 0.2
done
dotnet bench/Centaur.Bench.Tools/bin/Release/net10.0/Centaur.Bench.Tools.dll "http://127.0.0.1:$apiport" "$key" "$tokenkey" "$cs"
echo "API peak memory (VmHWM): $(grep VmHWM /proc/$api/status | awk '{print $2/1024 " MiB"}')"
