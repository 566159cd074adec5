#!/usr/bin/env bash
# Installs the UI's npm packages (exactly as ui/package-lock.json says) and tauri-driver.
# Idempotent and quiet: does nothing when both are already in place. Safe in CI (no stdin).
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true

# npm ci only when node_modules was not installed from the current lock file.
lock_hash=$(sha256sum ui/package-lock.json | cut -d' ' -f1)
stamp=ui/node_modules/.schooldesk-lock-sha256
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  echo "installing UI packages (npm ci)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error </dev/null)
  echo "$lock_hash" >"$stamp"
fi

# tauri-driver bridges WebDriver to the app (scripts/e2e.sh); 2.x matches Tauri 2.
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  echo "installing tauri-driver"
  cargo install tauri-driver --locked --version '^2' --quiet </dev/null
fi
