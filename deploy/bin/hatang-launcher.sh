#!/bin/sh
# Launcher for hatang-agent and hatang-collector installed from a release tarball. The release
# ships this file as bin/hatang-agent and bin/hatang-collector; /usr/local/bin/<name> links to
# /opt/hatang/<product>/current/bin/<name>.
#
# It reads the settings the install script wrote (<base>/install.env: which node, which service
# user, where state lives) and, when started by root, runs the command as the service user, so
# files it creates (SQLite -wal/-shm files, backups) stay writable by the service. `enroll` is the
# exception: it writes the configuration (root's) and then hands the state directory back to the
# service user.
set -eu

self=$(readlink -f "$0")
name=$(basename "$self")
app=$(cd "$(dirname "$self")/.." && pwd)
# The release sits at <base>/releases/<version>; install.env at <base>/install.env.
envfile="$app/../../install.env"
if [ -r "$envfile" ]; then
  set -a
  # shellcheck source=/dev/null
  . "$envfile"
  set +a
fi

node=${HATANG_NODE:-node}
cli="$app/dist/cli.js"
run_as=${HATANG_RUN_AS:-}

if ! command -v "$node" >/dev/null 2>&1; then
  echo "$name: Node.js not found ($node). Re-run the install script, or set HATANG_NODE." >&2
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  # Not root: the service itself (systemd starts it as its user) or someone trying by hand.
  if [ -n "${HATANG_CONFIG:-}" ] && [ -e "$HATANG_CONFIG" ] && [ ! -r "$HATANG_CONFIG" ]; then
    echo "$name: cannot read $HATANG_CONFIG as $(id -un). Run it with sudo: sudo $name $*" >&2
    exit 3
  fi
  exec "$node" "$cli" "$@"
fi

if [ -z "$run_as" ] || [ "$run_as" = root ] || ! id "$run_as" >/dev/null 2>&1; then
  exec "$node" "$cli" "$@"
fi

group=$(id -gn "$run_as")

if [ "${1:-}" = enroll ]; then
  status=0
  "$node" "$cli" "$@" || status=$?
  if [ -n "${HATANG_STATE_DIR:-}" ] && [ -d "$HATANG_STATE_DIR" ]; then
    chown -R "$run_as:$group" "$HATANG_STATE_DIR"
  fi
  if [ -n "${HATANG_CONFIG:-}" ] && [ -f "$HATANG_CONFIG" ]; then
    chgrp "$group" "$HATANG_CONFIG" && chmod 0640 "$HATANG_CONFIG"
  fi
  exit "$status"
fi

# Run as the service user. HOME points at the state directory: root's home is not theirs.
export HOME="${HATANG_STATE_DIR:-/}"
if command -v setpriv >/dev/null 2>&1; then
  exec setpriv --reuid="$run_as" --regid="$group" --init-groups -- "$node" "$cli" "$@"
fi
exec runuser -u "$run_as" -- "$node" "$cli" "$@"
