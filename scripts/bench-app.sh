#!/usr/bin/env bash
# The app's benchmarks (issue #9): cold start of the release app to its first interactive
# screen, and its memory (PSS of the app and its WebKit processes) after the demo's full sync
# against a hello-world Tauri 2 app (tests/bench/hello-tauri). Prints a small table. Not part
# of CI: it builds two release apps (several minutes, a few GB under target/).
# The scroll figure runs in `npm run test:browser` (ui/tests/browser/scroll.test.mjs); the
# 50,000-person search figure too (ui/tests/browser/app.test.mjs).
#
#   scripts/bench-app.sh                  # 7 cold starts, the demo's and the hello app's memory
#   BENCH_RUNS=0 scripts/bench-app.sh     # memory only
#   WEBKIT_DISABLE_COMPOSITING_MODE=1 BENCH_RUNS=0 scripts/bench-app.sh   # both apps without
#                                         # WebKit's accelerated compositing
#   BENCH_CLEAN=1 scripts/bench-app.sh    # delete target/release afterwards (disk)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

bash scripts/install-ui-deps.sh

echo "==> building the UI and the release app (UI embedded)"
(cd ui && npm run --silent build)
# nice: release builds take minutes on two cores; let interactive work go first.
nice -n 10 cargo build --release -p schooldesk-app --features custom-protocol --locked

echo "==> building the hello-world Tauri 2 app (release, same tauri as our Cargo.lock)"
# Same target directory: the two builds share the GTK/WebKit crates they have in common.
(cd tests/bench/hello-tauri && nice -n 10 cargo build --release --locked)

# The demo's simulators alone, for what they take inside the app.
nice -n 10 cargo build --release -p schooldesk-sim --locked
export SIM_BINARY="$CARGO_TARGET_DIR/release/schooldesk-sim"

APP_BINARY=$(realpath "$CARGO_TARGET_DIR/release/schooldesk-app")
HELLO_BINARY=$(realpath "$CARGO_TARGET_DIR/release/hello-tauri")
export APP_BINARY HELLO_BINARY
echo "release binaries: schooldesk-app $(du -h "$APP_BINARY" | cut -f1), hello-tauri $(du -h "$HELLO_BINARY" | cut -f1)"

echo "==> measuring under Xvfb (1280x900), with a throwaway keychain"
xvfb-run -a -s "-screen 0 1280x900x24" bash scripts/with-keyring.sh node tests/bench/app-bench.mjs

if [ "${BENCH_CLEAN:-0}" = 1 ]; then
  echo "==> deleting $CARGO_TARGET_DIR/release"
  rm -rf "$CARGO_TARGET_DIR/release"
fi
