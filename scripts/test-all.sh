#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs every check and test.
# Used as-is by CI (.ci/run). Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
bash scripts/install-deps.sh
step "UI packages and tauri-driver"
bash scripts/install-ui-deps.sh

step "icons generated from icons/icon.svg"
bash scripts/check-icons.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests (real SQLCipher files, real Secret Service keychain, simulators over loopback)"
rust_log=$(mktemp)
trap 'rm -f "$rust_log"' EXIT
bash scripts/with-keyring.sh cargo test --workspace --locked 2>&1 | tee "$rust_log"

step "UI tests (Vitest, Playwright in Chromium)"
(cd ui && npm run --silent test && npm run --silent test:browser)

step "the real app end to end under Xvfb"
bash scripts/e2e.sh

step "signed updates end to end (the real app, a throwaway key, 127.0.0.1)"
bash scripts/update-e2e.sh

step "all checks passed"
echo "artifacts (screenshots): $root/artifacts"
# The closing line: Rust totals (the UI and e2e runners print their own above).
awk '/^test result:/ {p += $4; f += $6} END {printf "rust: %d passed, %d failed\n", p, f}' "$rust_log"
