#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the UI and the app, and starts
# Schooldesk. With nothing connected the app starts its built-in demo district.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

bash scripts/install-deps.sh
bash scripts/install-ui-deps.sh

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  cat >&2 <<'MSG'
There is no display here, so the Schooldesk window cannot open. Either:
  - run it on a virtual display:   xvfb-run -a scripts/run-app.sh
  - or use the command line:       cargo run -p schooldesk-cli -- demo
                                   cargo run -p schooldesk-cli -- students --search smith
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
if dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
     org.freedesktop.DBus.Peer.Ping >/dev/null 2>&1; then
  exec "$app"
fi
echo "No Secret Service keychain in this session: using a temporary one (demo data is not kept)."
export SCHOOLDESK_DATA_DIR="${SCHOOLDESK_DATA_DIR:-$(mktemp -d -t schooldesk-demo.XXXXXX)}"
exec bash scripts/with-keyring.sh "$app"
