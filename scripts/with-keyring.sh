#!/usr/bin/env bash
# Runs a command with a real, unlocked Secret Service keychain (gnome-keyring) in a private
# D-Bus session, as the keychain tests need:  scripts/with-keyring.sh cargo test -p schooldesk-cache
#
# HOME and XDG_RUNTIME_DIR point at fresh temporary directories, so the keyring is empty,
# throwaway and never the developer's own. Cargo and rustup keep using the real toolchain.
# Linux only; on macOS and Windows the system keychain is used directly (run the command as is).
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <command> [args…]" >&2
  exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool is missing: apt-get install -y --no-install-recommends dbus gnome-keyring" >&2
    exit 127
  fi
done

# Resolve the toolchain locations before HOME changes.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/home" "$scratch/runtime"
chmod 700 "$scratch/runtime"

export SCHOOLDESK_KEYRING_HOME="$scratch/home"
export SCHOOLDESK_KEYRING_RUNTIME="$scratch/runtime"

# The keyring must be unlocked with a non-empty password, or every write fails.
# shellcheck disable=SC2016
dbus-run-session -- bash -c '
  set -euo pipefail
  export HOME="$SCHOOLDESK_KEYRING_HOME" XDG_RUNTIME_DIR="$SCHOOLDESK_KEYRING_RUNTIME"
  unset SCHOOLDESK_KEYRING_HOME SCHOOLDESK_KEYRING_RUNTIME
  printf test-pass | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
  "$@"
' with-keyring "$@"
