#!/usr/bin/env bash
# Signed self-update, end to end, against the real debug app that scripts/e2e.sh builds
# (nothing heavy is rebuilt here; run scripts/e2e.sh first, as scripts/test-all.sh does).
#
# It makes a throwaway key pair, signs a small 0.1.1 "release" with it, serves latest.json
# and the artifact from 127.0.0.1, starts the app under Xvfb trusting that throwaway key
# (SCHOOLDESK_UPDATE_PUBKEY, read by debug builds only), and checks through WebDriver that
# the app finds 0.1.1, verifies it and stages it ("Restart to update"); then that a tampered
# artifact and a release signed with another key are both refused, in plain words, with
# nothing staged. Finally "Restart to update" is clicked on the good release: its artifact is
# signed but is no installable package (neither an AppImage, a gzip nor a .deb), so the
# updater refuses it before touching anything, and the app must say why, resume sending and
# keep working. (A real install would need a bundled app and, for a .deb, root.)
# Screenshots: artifacts/update-staged.png, artifacts/update-refused.png,
# artifacts/update-install-failed.png.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CI=true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

app="$CARGO_TARGET_DIR/debug/schooldesk-app"
tauri="$root/ui/node_modules/.bin/tauri"
if [ ! -x "$app" ] || [ ! -x "$tauri" ]; then
  echo "FAIL: no debug app at $app (or no Tauri CLI at $tauri): run scripts/e2e.sh first; it builds both." >&2
  exit 1
fi
# A no-op when scripts/e2e.sh has just built it; catches a binary older than the sources.
cargo build -p schooldesk-app --features custom-protocol --locked --quiet

work=$(mktemp -d -t schooldesk-update-e2e.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/keys" "$work/www/good" "$work/www/tampered" "$work/www/wrong-key" "$work/data" artifacts

echo "==> a throwaway signing key, and another one the app does not trust"
"$tauri" signer generate --ci -p "" -w "$work/keys/release.key" >/dev/null
"$tauri" signer generate --ci -p "" -w "$work/keys/other.key" >/dev/null

echo "==> the 0.1.1 artifact, signed (and a tampered copy, and one signed with the other key)"
version=0.1.1
# The plugin looks up `<os>-<arch>` (its names: linux, x86_64/aarch64…) in `platforms`.
platform="linux-$(uname -m)"
# Plain bytes on purpose: were it an ELF or a gzip, a click on Restart would make the updater
# replace the debug binary itself.
printf 'Schooldesk %s (update e2e stand-in, not an installable package)\n' "$version" \
  >"$work/www/good/schooldesk_${version}.update"
cp "$work/www/good/schooldesk_${version}.update" "$work/www/wrong-key/schooldesk_${version}.update"
sign() { # key file → writes file.sig
  "$tauri" signer sign -f "$1" -p "" --app-version "$version" "$2" >/dev/null
}
sign "$work/keys/release.key" "$work/www/good/schooldesk_${version}.update"
sign "$work/keys/other.key" "$work/www/wrong-key/schooldesk_${version}.update"
# Tampered: the good signature, but the bytes changed after signing.
cp "$work/www/good/schooldesk_${version}.update" "$work/www/tampered/schooldesk_${version}.update"
cp "$work/www/good/schooldesk_${version}.update.sig" "$work/www/tampered/schooldesk_${version}.update.sig"
printf 'appended by an attacker' >>"$work/www/tampered/schooldesk_${version}.update"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
for channel in good tampered wrong-key; do
  python3 - "$work/www/$channel" "$base/$channel" "$version" "$platform" <<'PY'
import json, sys, pathlib
folder, url, version, platform = sys.argv[1:]
folder = pathlib.Path(folder)
artifact = f"schooldesk_{version}.update"
manifest = {
    "version": version,
    "notes": "A test release served from this computer.",
    "pub_date": "2026-01-01T00:00:00Z",
    "platforms": {platform: {
        "url": f"{url}/{artifact}",
        "signature": (folder / f"{artifact}.sig").read_text().strip(),
    }},
}
(folder / "latest.json").write_text(json.dumps(manifest, indent=2))
PY
done

echo "==> serving the channels on $base"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "$base/good/latest.json" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -fsS "$base/good/latest.json" >/dev/null

# The app starts on the good channel from its settings file (as set_update_endpoint
# writes it); the e2e then switches channels through that command.
printf '{"update_endpoint": "%s/good/latest.json"}\n' "$base" >"$work/data/settings.json"

# The app runs from a copy, so even an updater gone wrong could only replace the copy; the
# copy's checksum afterwards proves the refused install changed nothing.
cp "$app" "$work/schooldesk-app"
before=$(sha256sum "$work/schooldesk-app" | cut -d' ' -f1)

# Compositing on: WebKitWebDriver's screenshots hang without it (see scripts/e2e.sh).
echo "==> the app under Xvfb, trusting the throwaway key"
set +e
env -u SCHOOLDESK_UPDATE_ENDPOINT \
  SCHOOLDESK_DEMO=1 \
  SCHOOLDESK_DATA_DIR="$work/data" \
  SCHOOLDESK_UPDATE_PUBKEY="$(cat "$work/keys/release.key.pub")" \
  UPDATE_BASE="$base" UPDATE_VERSION="$version" \
  WEBKIT_DISABLE_COMPOSITING_MODE="${WEBKIT_DISABLE_COMPOSITING_MODE:-0}" \
  APP_BINARY="$work/schooldesk-app" ARTIFACTS_DIR="$root/artifacts" \
  xvfb-run -a -s "-screen 0 1280x900x24" \
  bash scripts/with-keyring.sh node --test tests/e2e/update.e2e.mjs
status=$?
set -e
if [ "$status" -eq 0 ] && [ "$(sha256sum "$work/schooldesk-app" | cut -d' ' -f1)" != "$before" ]; then
  echo "FAIL: the app binary changed although every install was refused" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "--- update server log ---" >&2
  tail -n 40 "$work/server.log" >&2
fi
exit "$status"
