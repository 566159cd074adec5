#!/usr/bin/env bash
# Runs a command with a real, unlocked Secret Service keychain (gnome-keyring) in a private
# D-Bus session, as the keychain tests need:  scripts/with-keyring.sh cargo test -p schooldesk-cache
#
# HOME and XDG_RUNTIME_DIR of the keyring point at fresh temporary directories, so it is
# empty, throwaway and never the developer's own. Cargo and rustup keep the real toolchain.
# Linux only; on macOS and Windows the system keychain is used directly (run the command as is).
#
# The daemon is started by D-Bus activation from a service file of our own, already
# unlocked. gnome-keyring 42–46 aborts when a client exits while the daemon is answering it
# (`gkd_secret_service_publish_dispatch: assertion 'client' failed`, then a GLib-ERROR trap;
# reproduced here with four test processes at once). A private bus restarts the daemon on the
# next call, on the same keyring file and unlocked again, instead of the distribution's
# service file starting a locked one in root's home — which failed a CI run.
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

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/home" "$scratch/runtime" "$scratch/services"
chmod 700 "$scratch/runtime"

# The keyring must be unlocked with a non-empty password, or every write fails.
cat >"$scratch/start-keyring.sh" <<START
#!/bin/sh
export HOME='$scratch/home' XDG_RUNTIME_DIR='$scratch/runtime'
printf test-pass | exec gnome-keyring-daemon --unlock --foreground --components=secrets >/dev/null
START
chmod +x "$scratch/start-keyring.sh"

cat >"$scratch/services/org.freedesktop.secrets.service" <<SERVICE
[D-BUS Service]
Name=org.freedesktop.secrets
Exec=$scratch/start-keyring.sh
SERVICE

# A session bus that knows only our service directory.
cat >"$scratch/session.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:tmpdir=$scratch/runtime</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$scratch/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF

dbus-run-session --config-file="$scratch/session.conf" -- "$@"
