#!/usr/bin/env bash
# The real app end to end: builds the UI and the debug app, checks that the binary exports
# no SQLite symbols, then drives the app under Xvfb through tauri-driver + WebKitWebDriver
# with a real (temporary, unlocked) keychain and a temp data folder.
# Screenshots: artifacts/e2e-first-run.png, e2e-today.png, e2e.png (rosters), e2e-search.png,
# e2e-student.png, e2e-outbox.png, e2e-settings.png, e2e-documents.png.
# Then tests/e2e/offline.e2e.mjs against the simulators as a separate process (offline and
# back, a conflict both ways): e2e-offline-connect.png, e2e-offline.png, e2e-sent.png,
# e2e-conflict.png.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CI=true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

bash scripts/install-ui-deps.sh

echo "==> building the UI"
(cd ui && npm run --silent build)

# `custom-protocol` makes the binary serve ui/dist from inside itself, as a release does;
# without it a debug build points at the Vite dev server (devUrl) and shows a blank page.
echo "==> building the app (debug)"
cargo build -p schooldesk-app --features custom-protocol --locked
app="$CARGO_TARGET_DIR/debug/schooldesk-app"

# The offline run (tests/e2e/offline.e2e.mjs) drives the app against the simulators as a
# process of their own, and takes marks with the CLI on the app's data folder.
echo "==> building the simulators and the CLI (debug)"
cargo build -p schooldesk-sim -p schooldesk-cli --locked
sim="$CARGO_TARGET_DIR/debug/schooldesk-sim"
cli="$CARGO_TARGET_DIR/debug/schooldesk"

echo "==> symbol guard: the app must not export sqlite3_* (see src-tauri/build.rs)"
if [ ! -x "$app" ]; then
  echo "FAIL: no app binary at $app; the build above should have made it" >&2
  exit 1
fi
exported=$(nm -D --defined-only "$app" | grep -c ' sqlite3_' || true)
if [ "$exported" -ne 0 ]; then
  echo "FAIL: $app exports $exported sqlite3_* symbols; WebKit and libsoup would bind to them." >&2
  echo "      Check that build.rs still passes -Wl,--exclude-libs,ALL to the binary link." >&2
  nm -D --defined-only "$app" | grep ' sqlite3_' | head >&2
  exit 1
fi
linked=$(nm --defined-only "$app" | grep -c ' sqlite3_' || true)
if [ "$linked" -eq 0 ]; then
  echo "FAIL: $app contains no SQLCipher at all, so the check above proved nothing." >&2
  exit 1
fi
echo "ok: SQLCipher linked ($linked sqlite3_* symbols inside), none exported"

if [ ! -f scripts/with-keyring.sh ]; then
  echo "FAIL: scripts/with-keyring.sh is missing; the app needs a keychain to open its cache" >&2
  exit 1
fi

mkdir -p artifacts
# Each spec gets a data folder of its own, at first run (no SCHOOLDESK_DEMO: a spec chooses
# "Try with demo data" or connects a system through the form), and the simulator and CLI
# binaries (a spec that needs a system to go away runs `schooldesk-sim` as a process of its
# own). The CLI runs inside the same keyring session, on the same folder.
# E2E_ONLY=register runs tests/e2e/register.e2e.mjs alone (after the same builds).
specs=(app offline register emergency support default-rendering)
# The app turns WebKit's accelerated compositing off on Linux, but WebKitWebDriver's
# screenshot never returns for a page that is not being repainted then. The screenshot specs
# run with compositing on; default-rendering.e2e.mjs runs the app's own default, without
# screenshots.
export WEBKIT_DISABLE_COMPOSITING_MODE="${WEBKIT_DISABLE_COMPOSITING_MODE:-0}"
dirs=()
trap 'rm -rf "${dirs[@]}"' EXIT
for spec in "${specs[@]}"; do
  if [ -n "${E2E_ONLY:-}" ] && [ "$E2E_ONLY" != "$spec" ]; then continue; fi
  file="tests/e2e/$spec.e2e.mjs"
  if [ ! -f "$file" ]; then
    echo "FAIL: $file is missing" >&2
    exit 1
  fi
  echo "==> the app under Xvfb: $file"
  data=$(mktemp -d -t "schooldesk-e2e-$spec.XXXXXX")
  dirs+=("$data")
  SCHOOLDESK_DATA_DIR="$data" APP_BINARY="$app" SIM_BINARY="$sim" CLI_BINARY="$cli" \
    ARTIFACTS_DIR="$root/artifacts" \
    xvfb-run -a -s "-screen 0 1280x900x24" \
    bash scripts/with-keyring.sh node --test "$file"
done
