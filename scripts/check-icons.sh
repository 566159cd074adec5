#!/usr/bin/env bash
# Fails when an icon that src-tauri/tauri.conf.json (bundle.icon) names is missing, or when
# the generated icons in icons/ no longer match icons/icon.svg (someone changed the svg and
# did not regenerate, or edited a generated file by hand). Regenerating: icons/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=0
while IFS= read -r icon; do
  if [ ! -f "src-tauri/$icon" ]; then
    echo "FAIL: tauri.conf.json lists $icon but src-tauri/$icon does not exist" >&2
    missing=1
  fi
done < <(python3 -c 'import json; [print(p) for p in json.load(open("src-tauri/tauri.conf.json"))["bundle"]["icon"]]')
[ "$missing" -eq 0 ] || exit 1
echo "ok: every icon tauri.conf.json lists exists"

tauri=ui/node_modules/.bin/tauri
if [ ! -x "$tauri" ]; then
  echo "skip: the staleness check needs the Tauri CLI (bash scripts/install-ui-deps.sh)"
  exit 0
fi
fresh=$(mktemp -d -t schooldesk-icons.XXXXXX)
trap 'rm -rf "$fresh"' EXIT
"$tauri" icon icons/icon.svg -o "$fresh" >/dev/null 2>&1
# .icns: the CLI writes its chunks in a different order each run, so compare the chunks.
python3 - "$fresh" icons <<'PY'
import os, struct, sys
fresh, committed = sys.argv[1], sys.argv[2]

def icns_chunks(path):
    data = open(path, "rb").read()
    chunks, i = set(), 8
    while i < len(data):
        size = struct.unpack(">I", data[i + 4:i + 8])[0]
        chunks.add(data[i:i + size])
        i += size
    return chunks

stale = []
for name in sorted(os.listdir(fresh)):
    new = os.path.join(fresh, name)
    if os.path.isdir(new):
        continue  # android/ and ios/: not shipped
    old = os.path.join(committed, name)
    if not os.path.exists(old):
        stale.append(f"{name} (missing)")
    elif name.endswith(".icns"):
        if icns_chunks(new) != icns_chunks(old):
            stale.append(name)
    elif open(new, "rb").read() != open(old, "rb").read():
        stale.append(name)
if stale:
    sys.exit("FAIL: icons/ does not match icons/icon.svg: " + ", ".join(stale)
             + ". Regenerate them as icons/README.md says.")
print("ok: icons/ is generated from the current icons/icon.svg")
PY
