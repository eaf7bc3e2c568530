#!/usr/bin/env bash
# Installs the pinned harness CLIs (scripts/harnesses/package.json) into a folder every sandbox can read
# (default /opt/centaur/harnesses, override with CENTAUR_HARNESS_DIR). Idempotent and cached: when the folder already
# holds exactly this package.json (+ lock) and every CLI answers --version, nothing is downloaded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/harnesses"
dest="${CENTAUR_HARNESS_DIR:-/opt/centaur/harnesses}"
stamp="$dest/.centaur-stamp"
digest() { { cat "$src/package.json"; cat "$src/package-lock.json" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }
want="$(digest)"

check() {
  "$dest/node_modules/.bin/claude" --version >/dev/null 2>&1 &&
    "$dest/node_modules/.bin/codex" --version >/dev/null 2>&1 &&
    [ -x "$dest/node_modules/.bin/pi" ] &&
    "$dest/node_modules/.bin/amp" --version >/dev/null 2>&1
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && check; then
  echo "harnesses: up to date in $dest"
  exit 0
fi

mkdir -p "$dest"
cp "$src/package.json" "$dest/package.json"
# npm install (not ci) with the committed lock: npm ci rejects this lock because @ampcode/cli names platform
# packages the registry does not have; install still takes every version the lock pins.
if [ -f "$src/package-lock.json" ]; then
  cp "$src/package-lock.json" "$dest/package-lock.json"
fi
cmd=(install)

echo "harnesses: npm ${cmd[*]} into $dest (about 1 GiB, a few minutes the first time)"
# npm 11 still runs the install scripts it warns about; claude and amp need theirs (they link the native binary).
( cd "$dest" && npm "${cmd[@]}" --no-audit --no-fund --omit-lockfile-registry-resolved --loglevel=error )

if [ ! -f "$src/package-lock.json" ] && [ -w "$src" ]; then
  cp "$dest/package-lock.json" "$src/package-lock.json"
fi

# Sandboxes run as uid 1000 over a read-only bind: everything must be world-readable.
chmod -R a+rX "$dest"
check || { echo "harnesses: a CLI does not start after install" >&2; exit 1; }
digest > "$stamp"
echo "harnesses: installed: claude $("$dest/node_modules/.bin/claude" --version 2>/dev/null | head -1); codex $("$dest/node_modules/.bin/codex" --version 2>/dev/null | head -1)"
