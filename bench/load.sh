#!/usr/bin/env bash
# Load benchmark: THREADS threads (default 50) x TURNS turns (default 5) at once against a Release Centaur.Api with
# process sandboxes running tests/Centaur.FakeSandbox, each turn calling the fake LLM (bench/proxy/fake-upstream.cs)
# through a real Release Centaur.IronProxy, on a throw-away Postgres; the baseline is 1 thread x TURNS turns alone, in
# the same run. 127.0.0.1 only; bounded (the bench gives up after 15 min). Not part of the test suite.
#   bench/load.sh            (THREADS=10 TURNS=3 bench/load.sh for a quick look)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ulimit -n "$(ulimit -Hn)" || true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
THREADS=${THREADS:-50}
TURNS=${TURNS:-5}

echo "building (Release)..." >&2
dotnet build src/Centaur.Api -c Release -v q -nologo >/dev/null
dotnet build src/Centaur.IronProxy -c Release -v q -nologo >/dev/null
dotnet build tests/Centaur.FakeSandbox -c Release -v q -nologo >/dev/null
dotnet build bench/Centaur.Bench.Load -c Release -v q -nologo >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fsk -o /dev/null "$@" 2>/dev/null && return 0; sleep 0.2; done; echo "timed out waiting for $*" >&2; return 1; }

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/centaur-bench-load-XXXXXX); chmod 755 "$work"
pgport=$(free_port); apiport=$(free_port); pxport=$(free_port); upport=$(free_port)
runas=(); [ "$(id -u)" = 0 ] && runas=(setpriv --reuid=postgres --regid=postgres --init-groups) && chown postgres "$work"
"${runas[@]}" "$bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --no-instructions >/dev/null
"${runas[@]}" "$bin/postgres" -D "$work/pg" -p "$pgport" -h 127.0.0.1 -k "" -c max_connections=300 >"$work/pg.log" 2>&1 &
pgpid=$!
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  kill -INT "$pgpid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do "$bin/pg_isready" -h 127.0.0.1 -p "$pgport" -q && break; sleep 0.1; done
"$bin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -qc 'CREATE DATABASE centaur'
# The services' default pool sizes: what a deployment would run with.
cs="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=centaur"

# The fake LLM (HTTPS, its own CA).
dotnet run bench/proxy/fake-upstream.cs -c Release -- --port "$upport" --ca-out "$work/upstream-ca.pem" >"$work/upstream.log" 2>&1 &
pids+=($!)

key=ck_bench_0123456789
tokenkey=bench-sandbox-token-key-0123456789
ConnectionStrings__centaur="$cs" ASPNETCORE_URLS="http://127.0.0.1:$apiport" \
  Centaur__SandboxTokenKey=$tokenkey Centaur__PublicUrl="http://127.0.0.1:$apiport" \
  Auth__BootstrapClients__bench=$key IronProxy__Url="http://127.0.0.1:$pxport" \
  Sandbox__Backend=process Sandbox__MaxSandboxes=1000 Sandbox__Process__Command="$(command -v dotnet)" \
  Sandbox__Process__Args__0="$PWD/tests/Centaur.FakeSandbox/bin/Release/net10.0/Centaur.FakeSandbox.dll" \
  Sandbox__Process__WorkRoot="$work/sandboxes" Logging__LogLevel__Default=Warning \
  dotnet src/Centaur.Api/bin/Release/net10.0/Centaur.Api.dll >"$work/api.log" 2>&1 &
api=$!; pids+=($api)
wait_http -H "Authorization: Bearer $key" "http://127.0.0.1:$apiport/agent/threads?limit=1"
wait_http "https://127.0.0.1:$upport/"

# The API has applied every migration (the proxy's tables too): route "llm" → the fake LLM, the Anthropic placeholder
# swapped for the real key on the way.
"$bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U postgres -d centaur \
  -v connect_to="127.0.0.1:$upport" -v ca="$(cat "$work/upstream-ca.pem")" <<'SQL'
INSERT INTO egress_hosts (host, allow_private, connect_to, trusted_ca_pem) VALUES ('bench.test', true, :'connect_to', :'ca');
INSERT INTO egress_bindings (name, host, headers, format, secret) VALUES ('anthropic-api-key', 'bench.test', '{x-api-key}', 'raw', 'anthropic');
INSERT INTO egress_routes (prefix, destination) VALUES ('llm', 'https://bench.test');
SQL
(cd src/Centaur.IronProxy/bin/Release/net10.0 && exec env \
  ConnectionStrings__centaur="$cs" Centaur__SandboxTokenKey="$tokenkey" Secrets__anthropic=sk-bench-REAL \
  IronProxy__CaDirectory="$work/ca" Logging__LogLevel__Default=Warning \
  dotnet Centaur.IronProxy.dll --urls "http://127.0.0.1:$pxport") >"$work/proxy.log" 2>&1 &
proxy=$!; pids+=($proxy)
wait_http "http://127.0.0.1:$pxport/ca.pem"

status=0
dotnet bench/Centaur.Bench.Load/bin/Release/net10.0/Centaur.Bench.Load.dll \
  "http://127.0.0.1:$apiport" "$key" "$cs" "$api" "$proxy" "$THREADS" "$TURNS" || status=$?
audit=$("$bin/psql" -tA -h 127.0.0.1 -p "$pgport" -U postgres -d centaur -c "SELECT count(*) FROM egress_audit")
echo "egress audit rows (one per proxied LLM call): $audit"
if [ "$status" != 0 ]; then
  echo "--- api.log (tail)"; tail -20 "$work/api.log"; echo "--- proxy.log (tail)"; tail -20 "$work/proxy.log"
fi
exit "$status"
