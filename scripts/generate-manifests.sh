#!/usr/bin/env bash
# Regenerates aspirate-output/ (the Kubernetes kustomize layout) from the Aspire app model.
# Usage: scripts/generate-manifests.sh [output-folder]   (default: aspirate-output at the repository root)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:-$root/aspirate-output}")"
export ASPIRE_VERSION_CHECK_DISABLED=true DOTNET_CLI_TELEMETRY_OPTOUT=1
dotnet build "$root/src/Centaur.AppHost" -nologo -v q
dotnet run --project "$root/src/Centaur.AppHost" --no-build -- \
  --operation publish --step kubernetes-manifests --output-path "$out"
echo "manifests written to $out"
