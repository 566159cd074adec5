#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the UI and the app, and starts
# Schooldesk on its built-in demo district (SCHOOLDESK_DEMO=1: with nothing connected, the
# demo starts at once instead of first run asking; a connected school is opened as usual).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export SCHOOLDESK_DEMO="${SCHOOLDESK_DEMO:-1}"

bash scripts/install-deps.sh
bash scripts/install-ui-deps.sh

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  cat >&2 <<'MSG'
There is no display here, so the Schooldesk window cannot open. Either:
  - run it on a virtual display:   xvfb-run -a scripts/run-app.sh
  - or use the command line:       cargo run -p schooldesk-cli -- demo
                                   cargo run -p schooldesk-cli -- students --search smith
    (the cache key lives in the OS keychain; in a session with no Secret Service, run the
     command line inside a throwaway one: scripts/with-keyring.sh cargo run -p schooldesk-cli -- demo)
MSG
  exit 1
fi

echo "==> building the UI and the app"
(cd ui && npm run --silent build)
cargo build -p schooldesk-app --features custom-protocol --locked
app="${CARGO_TARGET_DIR:-target}/debug/schooldesk-app"

# The cache key lives in the OS keychain. A desktop session has one (Secret Service); a bare
# session (a server, a container, xvfb-run) may not: then use a throwaway keychain and a
# throwaway data folder, since the key dies with it.
keychain_works() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || return 1
  printf probe | timeout 5 secret-tool store --label='Schooldesk keychain probe' schooldesk-probe 1 \
    >/dev/null 2>&1 || return 1
  timeout 5 secret-tool clear schooldesk-probe 1 >/dev/null 2>&1 || true
}
if keychain_works; then
  exec "$app"
fi
echo "No Secret Service keychain in this session: using a temporary one (demo data is not kept)."
export SCHOOLDESK_DATA_DIR="${SCHOOLDESK_DATA_DIR:-$(mktemp -d -t schooldesk-demo.XXXXXX)}"
exec bash scripts/with-keyring.sh "$app"
