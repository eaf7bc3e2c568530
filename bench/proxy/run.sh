#!/usr/bin/env bash
# Centaur.IronProxy benchmark: the same fake upstream measured directly and through the proxy, in one run, on
# loopback, keep-alive, and printed as a table of ratios against the direct baseline.
#   bench/proxy/run.sh                  (DURATION=5 CONNECTIONS="1 16" ROUNDS=2 WARMUP=15 to change the defaults)
# Two placements of the processes, measured in the same run:
#   shared   the load tool, the upstream and the hop (IronProxy or the bare forwarder, with its Postgres) share every
#            core: every microsecond the hop spends is taken from the tool and the upstream.
#   own core the tool and the upstream on core 0, the hop and its Postgres on core 1 (taskset), at the highest
#            concurrency: the deployment shape, where the proxy runs in a pod of its own. Direct gets the same
#            core 0, so the ratio says how much of the rest of the system's throughput the hop keeps.
# Tools: wrk (cannot use a proxy: direct vs reverse mode) and hey (speaks CONNECT: direct vs MITM mode), both
# from Debian. The proxy is the Release build with a scratch Postgres of its own, so nothing else is disturbed.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
root=$PWD

DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-"1 16"}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-15}
HANDSHAKES=${HANDSHAKES:-30}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v hey >/dev/null || missing+=(hey)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v ss >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/centaur-bench-proxy-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -f "$work/pg/postmaster.pid" ]; then kill -INT "$(head -1 "$work/pg/postmaster.pid")" 2>/dev/null || true; sleep 1; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fsk -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "timed out waiting for $1" >&2; return 1; }

echo "building (Release)..." >&2
dotnet build src/Centaur.IronProxy -c Release -nologo -v q >/dev/null

# A scratch Postgres with the control plane's and the proxy's migrations.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
runas=""; if [ "$(id -u)" = 0 ]; then runas="setpriv --reuid=postgres --regid=postgres --init-groups"; chown postgres "$work"; fi
pg_port=$(free_port)
$runas "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust >/dev/null
$runas "$pg_bin/postgres" -D "$work/pg" -p "$pg_port" -h 127.0.0.1 -k "" -c fsync=off >"$work/pg.log" 2>&1 &
for _ in $(seq 1 100); do psql -h 127.0.0.1 -p "$pg_port" -U postgres -c 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c 'CREATE DATABASE centaur'
for migration in src/Centaur.Api/Migrations/*.sql; do
  psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d centaur -f "$migration" >/dev/null
done

# The fake upstream (HTTPS, h1 + h2).
up_port=$(free_port)
dotnet run bench/proxy/fake-upstream.cs -c Release -- --port "$up_port" --ca-out "$work/upstream-ca.pem" --pfx-out "$work/upstream.pfx" >"$work/upstream.log" 2>&1 &
pids+=($!)
wait_http "https://127.0.0.1:$up_port/"
listener_pid() { ss -ltnpH "sport = :$1" | grep -oP 'pid=\K[0-9]+' | head -1; }
# dotnet run's child serves the port (its other children, a build, come and go): CPU is read from the listener.
up_pid=$(listener_pid "$up_port")

# The floor: a bare YARP forwarder to the same upstream (no policy, audit or telemetry), for reference; its second
# port terminates TLS first, the floor for the MITM path (hey speaks TLS to it as it does inside a CONNECT tunnel).
bare_port=$(free_port); bare_tls_port=$(free_port)
dotnet run bench/proxy/bare-forwarder.cs -c Release -- --port "$bare_port" --tls-port "$bare_tls_port" --tls-pfx "$work/upstream.pfx" --upstream "https://127.0.0.1:$up_port" >"$work/bare.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$bare_port/v1/messages"
bare_pid=$(listener_pid "$bare_port")

psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d centaur \
  -v connect_to="127.0.0.1:$up_port" -v ca="$(cat "$work/upstream-ca.pem")" <<'SQL'
INSERT INTO egress_hosts (host, allow_private, connect_to, trusted_ca_pem) VALUES ('bench.test', true, :'connect_to', :'ca');
INSERT INTO egress_bindings (name, host, headers, format, secret) VALUES ('bench', 'bench.test', '{x-api-key}', 'raw', 'bench-key');
INSERT INTO egress_routes (prefix, destination) VALUES ('bench', 'https://bench.test');
INSERT INTO egress_hosts (host, allow_private, connect_to, trusted_ca_pem) VALUES ('*.mint.test', true, :'connect_to', :'ca');
SQL

# The proxy, as deployed: audit and ledger on, logging at warnings.
key=bench-sandbox-token-key-0123456789abcdef
px_port=$(free_port)
(cd src/Centaur.IronProxy/bin/Release/net10.0 && exec env \
  ConnectionStrings__centaur="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=centaur" \
  Centaur__SandboxTokenKey="$key" Secrets__bench-key=sk-bench-REAL IronProxy__CaDirectory="$work/ca" \
  Logging__LogLevel__Default=Warning ${PROXY_ENV:-} \
  dotnet Centaur.IronProxy.dll --urls "http://127.0.0.1:$px_port") >"$work/proxy.log" 2>&1 &
pids+=($!)
px_pid=$!
wait_http "http://127.0.0.1:$px_port/ca.pem"

token=$(python3 - "$key" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
payload = b64(json.dumps({"t": "bench:proxy", "s": "bench", "exp": int(time.time()) + 7200}, separators=(",", ":")).encode())
print("sbx1." + payload + "." + b64(hmac.new(sys.argv[1].encode(), ("sbx1." + payload).encode(), hashlib.sha256).digest()))
PY
)

# place shared|own: moves the running processes (taskset -a: every thread; Postgres' backends are its children).
pg_pids() { local pm; pm=$(head -1 "$work/pg/postmaster.pid"); echo "$pm" $(pgrep -P "$pm"); }
all_cores="0-$(( $(nproc) - 1 ))"
tool_cores=$all_cores
place() {
  if [ "$1" = own ]; then
    tool_cores=0
    taskset -a -cp 0 "$up_pid" >/dev/null
    for pid in "$px_pid" "$bare_pid" $(pg_pids); do taskset -a -cp 1 "$pid" >/dev/null; done
  else
    tool_cores=$all_cores
    for pid in "$up_pid" "$px_pid" "$bare_pid" $(pg_pids); do taskset -a -cp "$all_cores" "$pid" >/dev/null; done
  fi
}
shapes="shared"; [ "$(nproc)" -ge 2 ] && shapes="shared own"
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v+0 } else if (v ~ /s$/) { sub(/s$/, "", v); print v*1000 } else print v }'; }

# wrk: "rps p50 p99" (ms)
run_wrk() {
  local c=$1; shift
  local out; out=$(taskset -c "$tool_cores" wrk -t "$(( c < THREADS ? c : THREADS ))" -c "$c" -d "${DURATION}s" --latency "$@")
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(ms "$(echo "$out" | awk '$1=="50%" {print $2}')") $(ms "$(echo "$out" | awk '$1=="99%" {print $2}')")"
}
# hey: "rps p50 p99" (ms); -n large and -z bounds the time
run_hey() {
  local c=$1; shift
  local out; out=$(taskset -c "$tool_cores" hey -z "${DURATION}s" -c "$c" "$@")
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '$1=="50%" {print $3*1000}') $(echo "$out" | awk '$1=="99%" {print $3*1000}')"
}

direct="https://127.0.0.1:$up_port/v1/messages"
reverse="http://127.0.0.1:$px_port/bench/v1/messages"
bare="http://127.0.0.1:$bare_port/v1/messages"
bare_tls="https://127.0.0.1:$bare_tls_port/v1/messages"
declare -A sum_rps sum_p50 sum_p99 sum_hop sum_up sum_pg
add() { local k=$1 r; read -r r p50 p99 <<<"$2"; sum_rps[$k]=$(awk -v a="${sum_rps[$k]:-0}" -v b="$r" 'BEGIN{print a+b}'); sum_p50[$k]=$(awk -v a="${sum_p50[$k]:-0}" -v b="$p50" 'BEGIN{print a+b}'); sum_p99[$k]=$(awk -v a="${sum_p99[$k]:-0}" -v b="$p99" 'BEGIN{print a+b}'); }

# CPU time per request of the hop in the middle (IronProxy or the bare forwarder) and of the upstream, from /proc:
# unlike throughput it hardly depends on what else the machine runs, and it is what a 2-core box runs out of.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Postgres: the postmaster's own and its reaped children's time (cutime + cstime keep what exited backends spent),
# plus the backends alive now.
pg_ticks() {
  local pids t pid; pids=($(pg_pids))
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/${pids[0]}/stat")
  for pid in "${pids[@]:1}"; do t=$(( t + $(ticks "$pid" 2>/dev/null || echo 0) )); done
  echo "$t"
}
per_request() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v r="$2" -v d="$DURATION" 'BEGIN { print (r > 0 ? t * 1e6 / hz / (r * d) : 0) }'; }
# cell KEY HOP_PID(0: none) TOOL ARGS...: one measurement, added to the sums
cell() {
  local k=$1 hop=$2 tool=$3; shift 3
  local hop0=0 up0 pg0 out r
  [ "$hop" = 0 ] || hop0=$(ticks "$hop"); up0=$(ticks "$up_pid"); pg0=$(pg_ticks)
  out=$($tool "$@")
  add "$k" "$out"; read -r r _ <<<"$out"
  [ "$hop" = 0 ] || sum_hop[$k]=$(awk -v a="${sum_hop[$k]:-0}" -v b="$(per_request $(( $(ticks "$hop") - hop0 )) "$r")" 'BEGIN{print a+b}')
  sum_up[$k]=$(awk -v a="${sum_up[$k]:-0}" -v b="$(per_request $(( $(ticks "$up_pid") - up0 )) "$r")" 'BEGIN{print a+b}')
  sum_pg[$k]=$(awk -v a="${sum_pg[$k]:-0}" -v b="$(per_request $(( $(pg_ticks) - pg0 )) "$r")" 'BEGIN{print a+b}')
}

# Warm up every path (JIT, leaf certificate, pools), then interleave rounds so drift hits every path alike. Tiered
# compilation (tier 0, instrumented, tier 1) of the proxy's hot path takes 20-30 s of traffic on 2 busy cores; measured
# before it settles, the first round mostly measured the JIT, not the steady state a long-running proxy is in.
echo "warming up (${WARMUP}s per path)..." >&2
warm_c=$(echo $CONNECTIONS | awk '{print $NF}')
wrk -t1 -c1 -d2s "$direct" >/dev/null; wrk -t1 -c1 -d2s -H "X-Centaur-Sandbox-Token: $token" -H "x-api-key: centaur-placeholder:bench" "$reverse" >/dev/null
hey -z 2s -c 1 -x "http://sandbox:$token@127.0.0.1:$px_port" -H "x-api-key: centaur-placeholder:bench" https://bench.test/v1/messages >/dev/null
wrk -t "$THREADS" -c "$warm_c" -d"${WARMUP}s" -H "X-Centaur-Sandbox-Token: $token" -H "x-api-key: centaur-placeholder:bench" "$reverse" >/dev/null
hey -z "${WARMUP}s" -c "$warm_c" -x "http://sandbox:$token@127.0.0.1:$px_port" -H "x-api-key: centaur-placeholder:bench" https://bench.test/v1/messages >/dev/null
wrk -t "$THREADS" -c "$warm_c" -d5s "$direct" >/dev/null; hey -z 5s -c "$warm_c" "$direct" >/dev/null
wrk -t "$THREADS" -c "$warm_c" -d"${WARMUP}s" "$bare" >/dev/null; hey -z "${WARMUP}s" -c "$warm_c" "$bare_tls" >/dev/null
high=$(echo $CONNECTIONS | awk '{print $NF}')
for round in $(seq 1 "$ROUNDS"); do
  for shape in $shapes; do
    place "$shape"
    # Threads that just moved between cores run cold for a moment: a short unmeasured load on each hop first.
    taskset -c "$tool_cores" wrk -t "$THREADS" -c "$high" -d2s -H "X-Centaur-Sandbox-Token: $token" -H "x-api-key: centaur-placeholder:bench" "$reverse" >/dev/null
    taskset -c "$tool_cores" wrk -t "$THREADS" -c "$high" -d2s "$bare" >/dev/null
    for c in $CONNECTIONS; do
      # Own core is the throughput question: the highest concurrency only.
      [ "$shape" = shared ] || [ "$c" = "$high" ] || continue
      echo "round $round, $shape, c=$c..." >&2
      cell "wrk-direct-$c-$shape" 0 run_wrk "$c" "$direct"
      cell "wrk-reverse-$c-$shape" "$px_pid" run_wrk "$c" -H "X-Centaur-Sandbox-Token: $token" -H "x-api-key: centaur-placeholder:bench" "$reverse"
      cell "wrk-bare-$c-$shape" "$bare_pid" run_wrk "$c" "$bare"
      cell "hey-direct-$c-$shape" 0 run_hey "$c" "$direct"
      cell "hey-mitm-$c-$shape" "$px_pid" run_hey "$c" -x "http://sandbox:$token@127.0.0.1:$px_port" -H "x-api-key: centaur-placeholder:bench" https://bench.test/v1/messages
      cell "hey-bare-$c-$shape" "$bare_pid" run_hey "$c" "$bare"
      cell "hey-baretls-$c-$shape" "$bare_pid" run_hey "$c" "$bare_tls"
    done
  done
done
place shared

# Leaf certificates: curl's time_appconnect (new connection, TCP + CONNECT + TLS) through the proxy to a host it holds
# a leaf for, and to a new host each time (a leaf is minted for it); the baseline is a TLS handshake with the
# upstream directly. The new hosts' requests fail upstream (its certificate does not name them): only the handshake counts.
echo "handshakes..." >&2
curl -fsS "http://127.0.0.1:$px_port/ca.pem" -o "$work/proxy-ca.pem"
p50_of() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] * 1000 }'; }
hs_direct=$(for i in $(seq 1 "$HANDSHAKES"); do curl -s -o /dev/null -w '%{time_appconnect}\n' --cacert "$work/upstream-ca.pem" "$direct"; done | p50_of)
hs_cached=$(for i in $(seq 1 "$HANDSHAKES"); do curl -s -o /dev/null -w '%{time_appconnect}\n' -x "http://sandbox:$token@127.0.0.1:$px_port" \
  --cacert "$work/proxy-ca.pem" -H "x-api-key: centaur-placeholder:bench" https://bench.test/v1/messages; done | p50_of)
hs_minted=$(for i in $(seq 1 "$HANDSHAKES"); do curl -s -o /dev/null -w '%{time_appconnect}\n' -x "http://sandbox:$token@127.0.0.1:$px_port" \
  --cacert "$work/proxy-ca.pem" "https://h$i-$RANDOM.mint.test/"; done | p50_of)

audit_rows=$(psql -tA -h 127.0.0.1 -p "$pg_port" -U postgres -d centaur -c "SELECT count(*) FROM egress_audit")
echo
echo "IronProxy benchmark: ${DURATION}s x ${ROUNDS} rounds per cell, loopback, keep-alive, $(nproc) cores"
printf '%-8s %-26s %-8s %4s %10s %9s %9s %10s %12s %10s %10s %10s\n' tool path cores c rps p50_ms p99_ms rps_ratio added_p50_ms hop_cpu_us up_cpu_us pg_cpu_us
for shape in $shapes; do
  for c in $CONNECTIONS; do
    [ "$shape" = shared ] || [ "$c" = "$high" ] || continue
    for pair in "wrk direct" "wrk reverse" "wrk bare" "hey direct" "hey mitm" "hey bare" "hey baretls"; do
      read -r tool path <<<"$pair"
      k="$tool-$path-$c-$shape"; base="$tool-direct-$c-$shape"
      case $path in mitm) label='MITM (CONNECT+TLS)';; reverse) label='reverse (/bench route)';; bare) label='bare YARP (floor)';; baretls) label='bare YARP + TLS (floor)';; *) label='direct (baseline)';; esac
      awk -v t="$tool" -v p="$path" -v s="$shape" -v c="$c" -v n="$ROUNDS" -v r="${sum_rps[$k]}" -v a="${sum_p50[$k]}" -v b="${sum_p99[$k]}" \
          -v br="${sum_rps[$base]}" -v ba="${sum_p50[$base]}" -v label="$label" -v hop="${sum_hop[$k]:-}" -v up="${sum_up[$k]}" -v pg="${sum_pg[$k]}" \
        'BEGIN { printf "%-8s %-26s %-8s %4d %10.0f %9.2f %9.2f %10.2f %12.2f %10s %10.1f %10.1f\n", t, label, s, c, r/n, a/n, b/n, r/br, (a-ba)/n, hop == "" ? "-" : sprintf("%.1f", hop/n), up/n, pg/n }'
    done
  done
done
echo "audit rows written during the run: $audit_rows (one per proxied request)"
printf 'handshake p50 (curl time_appconnect, new connection each, %d each): direct TLS %.2f ms, through the proxy with the leaf cached %.2f ms, to a new host (leaf minted) %.2f ms\n' \
  "$HANDSHAKES" "$hs_direct" "$hs_cached" "$hs_minted"
echo "cores: shared = tool, upstream and hop on every core; own = tool and upstream on core 0, the hop and its Postgres on core 1"
echo "bare YARP: the same upstream through YARP's forwarder alone (no identity, policy, audit, telemetry): the floor for any Kestrel + YARP hop"
echo "bare YARP + TLS: the same forwarder behind Kestrel's own TLS (hey speaks TLS to it, as inside a tunnel): the floor for the MITM path"
echo "hey through the bare forwarder (no TLS on either side of it): what any hop costs when hey is the load tool"
echo "hop_cpu_us / up_cpu_us / pg_cpu_us: CPU time per request of the proxy (or bare forwarder), the upstream and Postgres (the audit), from /proc"

# For bench/run: RESULT|figure|measured|baseline|unit|target. The issue's targets: added p50 at concurrency 1;
# throughput at the highest concurrency, >= 0.7x with the proxy on a core of its own (as deployed) and, on shared
# cores, above what its probe measured there ("beat it"; ../shared/reference/proxy-feasibility.md): 0.45x for MITM
# with hey, 0.42x for the reverse route with wrk.
echo
low=$(echo $CONNECTIONS | awk '{print $1}')
result() { # shape c tool path p50_target rps_target
  local k="$3-$4-$2-$1" base="$3-direct-$2-$1"
  awk -v s="$([ "$1" = own ] && echo 'proxy on its own core' || echo 'shared cores')" -v c="$2" -v n="$ROUNDS" \
      -v label="$([ "$4" = mitm ] && echo 'MITM' || echo 'reverse')" -v tl="$5" -v tt="$6" \
      -v r="${sum_rps[$k]}" -v a="${sum_p50[$k]}" -v br="${sum_rps[$base]}" -v ba="${sum_p50[$base]}" \
    'BEGIN { if (tl != "-") printf "RESULT|proxy: %s, c=%d, %s, p50 (vs direct)|%.3f|%.3f|ms|%s\n", label, c, s, a/n, ba/n, tl;
             printf "RESULT|proxy: %s, c=%d, %s, throughput (vs direct)|%.0f|%.0f|req/s|%s\n", label, c, s, r/n, br/n, tt }'
}
for pair in "wrk reverse" "hey mitm"; do
  read -r tool path <<<"$pair"
  result shared "$low" "$tool" "$path" 'added<0.5' ''
  result shared "$high" "$tool" "$path" '' "$([ "$path" = mitm ] && echo 'ratio>0.45' || echo 'ratio>0.42')"
  case " $shapes " in *" own "*) result own "$high" "$tool" "$path" - 'ratio>=0.7';; esac
done
printf 'RESULT|proxy: MITM handshake, leaf cached, p50 (vs a direct TLS handshake)|%.3f|%.3f|ms|\n' "$hs_cached" "$hs_direct"
printf 'RESULT|proxy: MITM handshake, leaf cached, p50 (vs a new host: leaf minted)|%.3f|%.3f|ms|ratio<1\n' "$hs_cached" "$hs_minted"
for shape in $shapes; do
  for pair in "wrk bare" "hey bare" "hey baretls"; do
    read -r tool path <<<"$pair"
    awk -v c="$high" -v n="$ROUNDS" -v r="${sum_rps[$tool-$path-$high-$shape]}" -v br="${sum_rps[$tool-direct-$high-$shape]}" \
        -v s="$([ "$shape" = own ] && echo 'on its own core' || echo 'shared cores')" -v label="$([ "$path" = bare ] && echo "bare YARP forwarder, $tool" || echo "bare YARP forwarder behind TLS, $tool")" \
      'BEGIN { printf "RESULT|proxy: %s (floor), c=%d, %s, throughput (vs direct)|%.0f|%.0f|req/s|\n", label, c, s, r/n, br/n }'
  done
done
# Each IronProxy path against its own floor: reverse against the bare forwarder, MITM against it behind TLS.
for pair in "wrk reverse bare" "hey mitm baretls"; do
  read -r tool path floor <<<"$pair"
  awk -v c="$high" -v n="$ROUNDS" -v m="${sum_hop[$tool-$path-$high-shared]}" -v b="${sum_hop[$tool-$floor-$high-shared]}" \
      -v label="$([ "$path" = mitm ] && echo 'MITM' || echo 'reverse')" -v fl="$([ "$path" = mitm ] && echo 'bare YARP forwarder behind TLS' || echo 'bare YARP forwarder')" \
    'BEGIN { printf "RESULT|proxy: %s, c=%d, IronProxy CPU per request (vs %s)|%.1f|%.1f|us|\n", label, c, fl, m/n, b/n }'
done
