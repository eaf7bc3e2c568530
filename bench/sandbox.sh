#!/usr/bin/env bash
# Local sandbox benchmark (bubblewrap backend, real runtime, real harness CLIs, fake LLM on a Unix socket):
# cold start, warm-pool claim, spawn → first harness output per harness, warm Claude turn → first output.
# p50/p99 over N runs (default 50; pi, which starts in ~2 s, may get fewer: second argument), with ratios to
# baselines measured in the same run. Not part of the test suite. Usage: bench/sandbox.sh [runs] [pi-runs]
# BENCH_TRACE=1 also prints where a start and a claim spend their time (host log + the runtime's trace lines);
# BENCH_ONLY_START=1 measures the start and claim figures only.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
scripts/install-harnesses.sh >/dev/null
dotnet build bench/Centaur.Bench.Sandbox -c Release -v q -nologo >/dev/null
exec dotnet bench/Centaur.Bench.Sandbox/bin/Release/net10.0/Centaur.Bench.Sandbox.dll "${1:-50}" "${2:-${1:-50}}"
