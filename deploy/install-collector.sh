#!/usr/bin/env bash
# Install or upgrade the hatang collector on a Debian-family server in the provincial data centre.
#
#   tar -xzf hatang-collector-0.1.0.tar.gz
#   sudo ./hatang-collector-0.1.0/deploy/install-collector.sh
#
# Idempotent: re-running (with a newer release) upgrades in place. Before an upgrade touches the
# database it is backed up (online copy) to /var/backups/hatang-collector/pre-upgrade-*.db; the
# new version's migrations are applied, and if they fail the previous version is put back.
# TLS: put nginx in front (deploy/nginx/hatang.conf, docs/deploy.md). `--help` lists the options.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"

usage() {
  cat <<'EOF'
usage: install-collector.sh [options]

  --host ADDR           address to listen on (first install; default 127.0.0.1, behind nginx)
  --port PORT           TCP port (first install; default 8080)
  --role all|speedtest  full collector, or a stateless speed-test point (first install; default all)
  --tarball FILE        install this release tarball (default: the release this script is in)
  --node-tarball FILE   install Node.js from the official Linux binary tarball
  --backup-keep N       daily backups kept in /var/backups/hatang-collector (default 14)
  --build-from-source   if better-sqlite3 must be rebuilt, compile it (no download)
  --no-start            install, but do not enable or start the service
  --keep N              releases kept for rollback (default 3)
  -h, --help            this help

Environment for tests and unusual layouts: HATANG_ROOT (install under this directory, no users,
no systemctl), HATANG_USER (service user, default hatang-collector), HATANG_NODE (node binary),
HATANG_NO_SYSTEMCTL=1, HATANG_NO_REBUILD=1.
EOF
}

HOST='' PORT='' ROLE='' TARBALL='' NODE_TARBALL='' BACKUP_KEEP=14 START=1 KEEP=3 BUILD_FROM_SOURCE=0
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi; }
while [ $# -gt 0 ]; do
  case "$1" in
  --host) need "$@"; HOST=$2; shift 2 ;;
  --port) need "$@"; PORT=$2; shift 2 ;;
  --role) need "$@"; ROLE=$2; shift 2 ;;
  --tarball) need "$@"; TARBALL=$2; shift 2 ;;
  --node-tarball) need "$@"; NODE_TARBALL=$2; shift 2 ;;
  --backup-keep) need "$@"; BACKUP_KEEP=$2; shift 2 ;;
  --build-from-source) BUILD_FROM_SOURCE=1; shift ;;
  --no-start) START=0; shift ;;
  --keep) need "$@"; KEEP=$2; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option $1" ;;
  esac
done
case "$ROLE" in '' | all | speedtest) ;; *) die "--role must be all or speedtest, not $ROLE" ;; esac
case "$PORT" in '' | [0-9] | [0-9][0-9] | [0-9][0-9][0-9] | [0-9][0-9][0-9][0-9] | [0-9][0-9][0-9][0-9][0-9]) ;; *) die "--port must be a number 0-65535" ;; esac
if [ -n "$PORT" ] && [ "$PORT" -gt 65535 ]; then die "--port must be a number 0-65535"; fi
case "$KEEP" in '' | *[!0-9]*) die "--keep must be a number" ;; esac
[ "$KEEP" -ge 1 ] || die "--keep must be at least 1"
case "$BACKUP_KEEP" in '' | *[!0-9]*) die "--backup-keep must be a number" ;; esac
export BUILD_FROM_SOURCE

setup_paths collector
require_root "$@"
CONFIG=$ETC/collector.yaml
BACKUPS=$ROOT/var/backups/hatang-collector
DB=$STATE/hatang.db

find_release_source "$TARBALL"
ensure_node "$NODE_TARBALL"
install_release
if [ -n "$OLD_VERSION" ]; then
  say "upgrading hatang-collector $OLD_VERSION -> $VERSION (configuration and database are kept)"
else
  say "installing hatang-collector $VERSION"
fi

ensure_user
service_group
mkdir -p "$ETC" "$STATE" "$BACKUPS"
chmod 0755 "$ETC"
chmod 0750 "$STATE" "$BACKUPS"
chown "$SVC_USER:$SVC_GROUP" "$STATE" "$BACKUPS"

if [ ! -f "$CONFIG" ]; then
  {
    echo "# hatang collector configuration: every key is described in docs/collector.md."
    echo "# Written by install-collector.sh on $(date -u +%Y-%m-%dT%H:%MZ); re-running the installer keeps this file."
    echo "server:"
    echo "  # 127.0.0.1 behind nginx, which terminates TLS (deploy/nginx/hatang.conf); '::' to listen directly."
    echo "  host: '${HOST:-127.0.0.1}'"
    echo "  port: ${PORT:-8080}"
    echo "dataDir: $STATE"
    echo "role: ${ROLE:-all}"
    echo "log:"
    echo "  level: info"
  } >"$CONFIG.new"
  mv -f "$CONFIG.new" "$CONFIG"
  say "wrote $CONFIG"
else
  say "keeping $CONFIG"
  if [ -n "$HOST$PORT$ROLE" ]; then warn "--host/--port/--role apply to a first install only; edit $CONFIG to change them"; fi
fi
chown "root:$SVC_GROUP" "$CONFIG" 2>/dev/null || true
chmod 0640 "$CONFIG"

# The launcher settings must exist before the backup below runs any launcher.
write_install_env "HATANG_CONFIG=$CONFIG" "HATANG_DATA=$STATE" "HATANG_BACKUP_DIR=$BACKUPS" "HATANG_BACKUP_KEEP=$BACKUP_KEEP"

# Back the database up before any version touches it: with the running version's backup tool
# (it knows its own schema), or this release's on a box without one.
PRE_BACKUP=''
if [ -f "$DB" ]; then
  backup_tool=$NEW_APP/bin/hatang-collector-backup
  if [ -n "$OLD_VERSION" ] && [ -x "$BASE/current/bin/hatang-collector-backup" ]; then backup_tool=$BASE/current/bin/hatang-collector-backup; fi
  name="pre-upgrade-${OLD_VERSION:-unknown}-to-$VERSION-$(date +%Y%m%d-%H%M%S)"
  "$backup_tool" --dir "$BACKUPS" --keep 0 --name "$name" || die "backup before the upgrade failed; nothing was changed"
  PRE_BACKUP=$BACKUPS/$name.db
fi

# schema_version: the database's user_version (0 when there is none yet).
schema_version() {
  if [ ! -f "$DB" ]; then echo 0; return; fi
  "$NODE" -e 'const D = require(process.argv[1]); const db = new D(process.argv[2], { readonly: true }); console.log(db.pragma("user_version", { simple: true })); db.close()' \
    "$NEW_APP/node_modules/better-sqlite3" "$DB"
}

if [ -n "$OLD_VERSION" ] && [ "$OLD_VERSION" != "$VERSION" ]; then svc stop hatang-collector.service; fi
switch_current "$VERSION"
link_launcher hatang-collector

# Apply the new version's migrations now, as the service user, so a failure shows here and not
# in a restart loop. Each migration runs in a transaction: a failed one leaves the database as it
# was, and the previous version can open it again.
before=$(schema_version)
if ! migrate_out=$(run_as_service_user "$NODE" --input-type=module -e '
  const { openDb } = await import(process.argv[1]);
  openDb({ path: process.argv[2] }).close();
' "$NEW_APP/dist/index.js" "$DB" 2>&1); then
  printf '%s\n' "$migrate_out" >&2
  if [ -n "$OLD_VERSION" ] && [ "$OLD_VERSION" != "$VERSION" ] && [ -d "$BASE/releases/$OLD_VERSION" ]; then
    switch_current "$OLD_VERSION"
    if [ "$START" = 1 ]; then svc start hatang-collector.service; fi
    die "hatang-collector $VERSION cannot open the database (above); $OLD_VERSION is back in place and the database is unchanged${PRE_BACKUP:+ (backup: $PRE_BACKUP)}"
  fi
  die "hatang-collector $VERSION cannot open the database $DB (above)${PRE_BACKUP:+; backup: $PRE_BACKUP}"
fi
after=$(schema_version)
if [ "$before" != "$after" ]; then
  say "database schema $before -> $after${PRE_BACKUP:+ (previous copy: $PRE_BACKUP)}"
else
  say "database schema $after (unchanged)"
fi
chown -R "$SVC_USER:$SVC_GROUP" "$STATE"
prune_releases "$KEEP"

UNITS_CHANGED=0
for unit in hatang-collector.service hatang-collector-backup.service hatang-collector-backup.timer; do
  install_unit "$NEW_APP/deploy/$unit"
done
if [ "$UNITS_CHANGED" = 1 ]; then svc daemon-reload; fi

if [ "$START" = 1 ]; then
  svc enable hatang-collector.service hatang-collector-backup.timer
  svc restart hatang-collector.service
  svc start hatang-collector-backup.timer
  if use_systemctl; then
    host=$(sed -n "s/^ *host: *'\{0,1\}\([^' ]*\)'\{0,1\}.*/\1/p" "$CONFIG" | head -n 1)
    port=$(sed -n 's/^ *port: *\([0-9]*\).*/\1/p' "$CONFIG" | head -n 1)
    case "$host" in '' | 0.0.0.0) host=127.0.0.1 ;; :: | '[::]') host='[::1]' ;; *:*) host="[$host]" ;; esac
    url="http://$host:${port:-8080}/healthz"
    for _ in $(seq 1 30); do
      if curl -fsS "$url" >/dev/null 2>&1; then break; fi
      sleep 1
    done
    if curl -fsS "$url" >/dev/null 2>&1; then
      say "collector answers at $url"
    else
      warn "collector does not answer at $url yet: journalctl -u hatang-collector -n 50"
    fi
  fi
fi

say "hatang-collector $VERSION installed."
cat <<EOF
Next:
  * TLS: nginx in front, see deploy/nginx/hatang.conf in this release and docs/deploy.md.
  * An enrolment code per commune:
      sudo hatang-collector enroll-code create --name "UBND xã ..." --commune 14107 --access fixed
  * Backups: daily into $BACKUPS (systemctl list-timers hatang-collector-backup.timer);
    restore with docs/deploy.md, "Backups".
EOF
