#!/usr/bin/env python3
"""Writes the updater manifest (latest.json) for the signed bundles in one folder.

Used by .github/workflows/release.yml after every platform has built; runs anywhere:

    python3 scripts/make-latest-json.py --dir dist --version 0.2.0 \
        --base-url https://updates.example.org/schooldesk/0.2.0 > dist/latest.json

Each updater artifact `X` comes with `X.sig` (written by `tauri build` when
bundle.createUpdaterArtifacts is on and TAURI_SIGNING_PRIVATE_KEY is set). The app looks up
`{os}-{arch}-{installer}` first, then `{os}-{arch}` (tauri-plugin-updater 2), so every
artifact is listed under its installer's key and the preferred one also under the plain key.
An artifact without a signature is an error: an unsigned update would be refused by every
installed app, so it must never be published.
"""

import argparse
import datetime
import json
import os
import re
import sys
import urllib.parse

# (file name pattern, [keys], whether it is the platform's default for `{os}-{arch}`).
# The macOS bundle is universal (x86_64 + aarch64), so it serves both architectures.
KINDS = [
    (re.compile(r"\.app\.tar\.gz$"), ["darwin-x86_64", "darwin-aarch64"], "app"),
    (re.compile(r"_amd64\.AppImage$|_x86_64\.AppImage$"), ["linux-x86_64"], "appimage"),
    (re.compile(r"_amd64\.deb$"), ["linux-x86_64"], "deb"),
    (re.compile(r"_x64-setup\.exe$"), ["windows-x86_64"], "nsis"),
    (re.compile(r"_x64_[A-Za-z-]+\.msi$|_x64\.msi$"), ["windows-x86_64"], "msi"),
]
# Which installer answers the plain `{os}-{arch}` key when several exist.
DEFAULT_INSTALLER = {"linux": "appimage", "windows": "nsis", "darwin": "app"}


def manifest(folder, version, base_url, notes, pub_date):
    platforms = {}
    defaults = {}
    found = 0
    for name in sorted(os.listdir(folder)):
        for pattern, keys, installer in KINDS:
            if not pattern.search(name):
                continue
            sig_path = os.path.join(folder, name + ".sig")
            if not os.path.isfile(sig_path):
                raise SystemExit(
                    f"{name} has no signature ({name}.sig). Build with "
                    "TAURI_SIGNING_PRIVATE_KEY set and bundle.createUpdaterArtifacts on."
                )
            with open(sig_path, encoding="utf-8") as f:
                signature = f.read().strip()
            entry = {
                "signature": signature,
                "url": base_url.rstrip("/") + "/" + urllib.parse.quote(name),
            }
            found += 1
            for key in keys:
                platforms[f"{key}-{installer}"] = entry
                if installer == DEFAULT_INSTALLER[key.split("-")[0]] or key not in defaults:
                    defaults[key] = entry
    if found == 0:
        raise SystemExit(f"no updater artifacts in {folder}")
    for key, entry in defaults.items():
        platforms[key] = entry
    return {
        "version": version,
        "notes": notes,
        "pub_date": pub_date,
        "platforms": dict(sorted(platforms.items())),
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True, help="folder with the bundles and their .sig")
    parser.add_argument("--version", required=True, help="the version being released")
    parser.add_argument("--base-url", required=True, help="where the files will be served")
    parser.add_argument("--notes", default="", help="release notes shown to the user")
    parser.add_argument("--pub-date", help="RFC 3339 time (default: now, UTC)")
    args = parser.parse_args(argv)
    pub_date = args.pub_date or datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    out = manifest(args.dir, args.version, args.base_url, args.notes, pub_date)
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
