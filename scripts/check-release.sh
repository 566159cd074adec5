#!/usr/bin/env bash
# Checks a release build made by `tauri build --bundles deb` (docs/RELEASING.md):
#  - the release binary exports no sqlite3_* symbol (WebKit, libsoup and the system
#    libsqlite3 would bind to our SQLCipher; src-tauri/build.rs hides it) yet contains it;
#  - the .deb holds that binary and the app icons;
#  - prints the .deb's size next to a hello-world Tauri 2 app's (7.2 MiB, PLATFORM.md).
# With --build it runs the release build first (about 6-10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

if [ "${1:-}" = "--build" ]; then
  (cd src-tauri && CI=true ../ui/node_modules/.bin/tauri build --ci --bundles deb -- --locked)
fi

app="$CARGO_TARGET_DIR/release/schooldesk-app"
if [ ! -x "$app" ]; then
  echo "FAIL: no release binary at $app; build it first (scripts/check-release.sh --build)" >&2
  exit 1
fi
exported=$(nm -D --defined-only "$app" | grep -c ' sqlite3_' || true)
if [ "$exported" -ne 0 ]; then
  echo "FAIL: $app exports $exported sqlite3_* symbols; WebKit and libsoup would bind to them." >&2
  echo "      Check that src-tauri/build.rs still passes -Wl,--exclude-libs,ALL." >&2
  exit 1
fi
# "SQLCipher is inside" by its symbols, or, if the binary was stripped, by its own strings.
linked=$(nm --defined-only "$app" 2>/dev/null | grep -c ' sqlite3_' || true)
if [ "$linked" -eq 0 ] && ! grep -aq 'cipher_version' "$app"; then
  echo "FAIL: $app contains no SQLCipher at all, so the check above proved nothing." >&2
  exit 1
fi
echo "ok: release binary exports 0 sqlite3_* symbols (SQLCipher linked in: $linked sqlite3_* symbols inside)"

deb=$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  echo "FAIL: no .deb under $CARGO_TARGET_DIR/release/bundle/deb" >&2
  exit 1
fi
contents=$(dpkg-deb -c "$deb")
for want in ./usr/bin/schooldesk-app ./usr/share/applications/Schooldesk.desktop \
  ./usr/share/icons/hicolor/128x128/apps/schooldesk-app.png; do
  if ! grep -Eq " (\./)?${want#./}\$" <<<"$contents"; then
    echo "FAIL: $deb lacks $want" >&2
    exit 1
  fi
done
bytes=$(stat -c %s "$deb")
python3 - "$deb" "$bytes" "$(stat -c %s "$app")" <<'PY'
import os, sys
deb, size, binary = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hello = 7.2  # MiB: the .deb of a hello-world Tauri 2 app on this kind of machine
mib = size / 2**20
print(f"ok: {os.path.basename(deb)}: {mib:.1f} MiB, {mib / hello:.2f}x a hello-world Tauri 2 .deb ({hello} MiB); "
      f"release binary {binary / 1e6:.1f} MB")
PY
