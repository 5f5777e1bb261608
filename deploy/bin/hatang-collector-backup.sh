#!/usr/bin/env bash
# Online backup of the hatang collector database, with rotation. Shipped in the collector release
# as bin/hatang-collector-backup; run daily by hatang-collector-backup.timer, and by
# install-collector.sh before every upgrade.
#
#   hatang-collector-backup [--dir DIR] [--keep N] [--name NAME]
#
# Writes DIR/NAME.db (default NAME: hatang-YYYYmmdd-HHMMSS) while the collector keeps running
# (SQLite's online backup: a consistent copy, writers are not blocked), checks it, and deletes all
# but the newest N daily copies (hatang-*.db). Copies named otherwise (pre-upgrade-*.db) are kept.
set -euo pipefail
umask 027

self=$(readlink -f "$0")
app=$(cd "$(dirname "$self")/.." && pwd)
envfile="$app/../../install.env"
if [ -r "$envfile" ]; then
  set -a
  # shellcheck source=/dev/null
  . "$envfile"
  set +a
fi

dir=${HATANG_BACKUP_DIR:-/var/backups/hatang-collector}
keep=${HATANG_BACKUP_KEEP:-14}
name="hatang-$(date +%Y%m%d-%H%M%S)"
while [ $# -gt 0 ]; do
  case "$1" in
  --dir) dir=${2:?--dir needs a value}; shift 2 ;;
  --keep) keep=${2:?--keep needs a value}; shift 2 ;;
  --name) name=${2:?--name needs a value}; shift 2 ;;
  -h | --help) sed -n '2,11p' "$self"; exit 0 ;;
  *) echo "hatang-collector-backup: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$keep" in '' | *[!0-9]*) echo "hatang-collector-backup: --keep must be a number" >&2; exit 2 ;; esac

# Root hands over to the service user, who owns the database and the backup directory.
if [ "$(id -u)" = 0 ] && [ -n "${HATANG_RUN_AS:-}" ] && [ "$HATANG_RUN_AS" != root ] && id "$HATANG_RUN_AS" >/dev/null 2>&1; then
  exec setpriv --reuid="$HATANG_RUN_AS" --regid="$(id -g "$HATANG_RUN_AS")" --init-groups -- "$self" --dir "$dir" --keep "$keep" --name "$name"
fi

node=${HATANG_NODE:-node}
db=${HATANG_DATA:-/var/lib/hatang-collector}/hatang.db
[ -f "$db" ] || { echo "hatang-collector-backup: no database at $db" >&2; exit 1; }
mkdir -p "$dir"
out="$dir/$name.db"
tmp="$dir/.$name.db.partial"
rm -f "$tmp"

# SQLite's online backup API through better-sqlite3, on a plain connection: it copies pages and
# never migrates or otherwise changes the source (a command that opened the database the usual way
# would apply this version's migrations first, which a pre-upgrade copy must not).
"$node" -e '
  const Database = require(process.argv[1]);
  const db = new Database(process.argv[2], { fileMustExist: true });
  db.backup(process.argv[3]).then(() => db.close(), (e) => { console.error(e.message); process.exit(1); });
' "$app/node_modules/better-sqlite3" "$db" "$tmp"

# One self-contained file (no -wal beside it), and a copy that fails SQLite's own check is not a
# backup.
check=$("$node" -e '
  const Database = require(process.argv[1]);
  const db = new Database(process.argv[2], { fileMustExist: true });
  db.pragma("journal_mode = DELETE");
  console.log(db.pragma("quick_check", { simple: true }) + " " + db.pragma("user_version", { simple: true }));
  db.close();
' "$app/node_modules/better-sqlite3" "$tmp" 2>&1) || true
case "$check" in
ok\ *) ;;
*) rm -f "$tmp" "$tmp-wal" "$tmp-shm"; echo "hatang-collector-backup: the copy failed its check: $check" >&2; exit 1 ;;
esac
mv -f "$tmp" "$out"
echo "backup $out (schema version ${check#ok }, $(du -h "$out" | cut -f1))"

if [ "$keep" -gt 0 ]; then
  # shellcheck disable=SC2012 # our own file names: no newlines
  ls -1t "$dir" | { grep -E '^hatang-[0-9]{8}-[0-9]{6}\.db$' || true; } | tail -n +"$((keep + 1))" | while read -r old; do
    rm -f "${dir:?}/$old"
    echo "removed old backup $dir/$old"
  done
fi
