# shellcheck shell=bash
# shellcheck disable=SC2034 # globals set here are read by the scripts that source this file
# Shared by deploy/install-agent.sh and deploy/install-collector.sh (sourced, not run).
#
# Layout of an installed product (PRODUCT = agent | collector):
#   /opt/hatang/PRODUCT/releases/VERSION/   one unpacked release tarball per version (last --keep kept)
#   /opt/hatang/PRODUCT/current             symlink to releases/VERSION: what runs
#   /opt/hatang/PRODUCT/install.env         settings for the launcher (node path, service user, paths)
#   /opt/hatang/node/                       Node.js, when installed from --node-tarball
#   /usr/local/bin/hatang-PRODUCT           symlink to current/bin/hatang-PRODUCT (the launcher)
#   /etc/hatang/PRODUCT.yaml                configuration, written once, never overwritten
#   /var/lib/hatang-PRODUCT/                state (agent outbox and token; collector database)
#   /etc/systemd/system/hatang-PRODUCT.service
#
# HATANG_ROOT=/some/dir puts every one of these paths under that directory, creates no users,
# and skips systemctl: the end-to-end test installs this way (test/integration/deploy-install.test.ts).

HATANG_NODE_MIN=20.18.0

if [ -t 1 ]; then _b=$'\033[1m' _r=$'\033[0m'; else _b='' _r=''; fi
say() { printf '%s[hatang]%s %s\n' "$_b" "$_r" "$*"; }
warn() { printf '[hatang] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[hatang] ERROR: %s\n' "$*" >&2
  exit 1
}

# version_ge A B: true when dotted version A >= B.
version_ge() {
  printf '%s\n%s\n' "$2" "$1" | sort -V -C
}

# setup_paths PRODUCT: the paths above, under HATANG_ROOT when set.
setup_paths() {
  PRODUCT=$1
  ROOT=${HATANG_ROOT:-}
  ROOT=${ROOT%/}
  if [ -n "$ROOT" ]; then
    mkdir -p "$ROOT"
    ROOT=$(cd "$ROOT" && pwd)
  fi
  BASE=$ROOT/opt/hatang/$PRODUCT
  NODE_DIR=$ROOT/opt/hatang/node
  ETC=$ROOT/etc/hatang
  STATE=$ROOT/var/lib/hatang-$PRODUCT
  UNITDIR=$ROOT/etc/systemd/system
  BINDIR=$ROOT/usr/local/bin
  SVC_USER=${HATANG_USER:-hatang-$PRODUCT}
  LAUNCHER=$BINDIR/hatang-$PRODUCT
}

require_root() {
  if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
    die "run this as root: sudo $0 $*"
  fi
}

# systemd is used only on a real root where it is PID 1.
use_systemctl() {
  [ -z "$ROOT" ] && [ "${HATANG_NO_SYSTEMCTL:-0}" != 1 ] && [ -d /run/systemd/system ] &&
    command -v systemctl >/dev/null 2>&1
}

svc() {
  if use_systemctl; then
    systemctl "$@"
  else
    say "systemd is not running here; skipped: systemctl $*"
  fi
}

# run_as_service_user CMD...: as the service user when we are root (keeps SQLite files theirs).
run_as_service_user() {
  if [ "$(id -u)" = 0 ] && [ "$SVC_USER" != root ]; then
    setpriv --reuid="$SVC_USER" --regid="$SVC_GROUP" --init-groups -- "$@"
  else
    "$@"
  fi
}

node_version() {
  "$1" -p 'process.versions.node' 2>/dev/null
}

node_arch() {
  case "$(uname -m)" in
  aarch64 | arm64) echo arm64 ;;
  x86_64 | amd64) echo x64 ;;
  armv7l | armv7*) echo armv7l ;;
  *) uname -m ;;
  esac
}

# install_node_tarball FILE: unpack an official Node.js Linux binary tarball to NODE_DIR.
install_node_tarball() {
  local file=$1 tmp v
  [ -r "$file" ] || die "--node-tarball $file cannot be read"
  tmp=$ROOT/opt/hatang/.node-incoming-$$
  rm -rf "$tmp"
  mkdir -p "$tmp"
  tar -xf "$file" -C "$tmp" --strip-components=1 || die "cannot unpack $file (expected node-vX.Y.Z-linux-$(node_arch).tar.xz)"
  [ -x "$tmp/bin/node" ] || die "$file holds no bin/node: is it the Node.js Linux binary tarball?"
  v=$(node_version "$tmp/bin/node") || die "$file: its node does not run on this machine ($(uname -m)); take the linux-$(node_arch) tarball"
  version_ge "$v" "$HATANG_NODE_MIN" || die "$file holds Node.js $v; $HATANG_NODE_MIN or newer is needed"
  rm -rf "$NODE_DIR.old"
  if [ -e "$NODE_DIR" ]; then mv "$NODE_DIR" "$NODE_DIR.old"; fi
  mv "$tmp" "$NODE_DIR"
  rm -rf "$NODE_DIR.old"
  say "Node.js $v installed in $NODE_DIR"
}

# ensure_node [NODE_TARBALL]: sets NODE to a node >= HATANG_NODE_MIN, installing one if needed.
ensure_node() {
  local tarball=${1:-} cand v found='' candidate
  if [ -n "$tarball" ]; then install_node_tarball "$tarball"; fi
  for cand in "${HATANG_NODE:-}" "$NODE_DIR/bin/node" "$(command -v node 2>/dev/null || true)"; do
    if [ -z "$cand" ] || [ ! -x "$cand" ]; then continue; fi
    v=$(node_version "$cand") || continue
    found="$found $cand=$v"
    if version_ge "$v" "$HATANG_NODE_MIN"; then
      NODE=$cand
      say "Node.js $v ($NODE)"
      return 0
    fi
  done
  # Debian 13 and newer package Node.js 20; Debian 12 / Raspberry Pi OS 12 / Ubuntu 24.04 only 18.
  if [ -z "$ROOT" ] && command -v apt-get >/dev/null 2>&1; then
    candidate=$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9][0-9.]*\).*/\1/p')
    if [ -n "$candidate" ] && version_ge "$candidate" "$HATANG_NODE_MIN"; then
      say "installing Node.js $candidate from the system's packages"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null || die "apt-get install nodejs failed"
      NODE=$(command -v node)
      return 0
    fi
  fi
  die "Node.js >= $HATANG_NODE_MIN is needed (found:${found:- none}; system packages offer ${candidate:-none}).
  Copy the official Node.js 20 (or 22) Linux binary for this machine, node-v20.x.y-linux-$(node_arch).tar.xz,
  onto this box and re-run with: --node-tarball /path/to/node-v20.x.y-linux-$(node_arch).tar.xz (docs/deploy.md)"
}

# release_field DIR FIELD: a top-level field of DIR/RELEASE.json.
release_field() {
  "$NODE" -p "require(process.argv[1])[process.argv[2]]" "$1/RELEASE.json" "$2"
}

# find_release_source TARBALL: sets SRC to an unpacked release of hatang-PRODUCT, either TARBALL
# unpacked to a temporary directory, or the release this script itself sits in.
find_release_source() {
  local tarball=${1:-} here
  if [ -n "$tarball" ]; then
    [ -r "$tarball" ] || die "tarball $tarball cannot be read"
    # Unpacked beside the releases, so installing it is a rename, not a copy.
    mkdir -p "$BASE/releases"
    UNPACK_DIR=$BASE/releases/.unpack-$$
    rm -rf "$UNPACK_DIR"
    mkdir -p "$UNPACK_DIR"
    trap 'rm -rf "$UNPACK_DIR"' EXIT
    tar -xzf "$tarball" -C "$UNPACK_DIR" || die "cannot unpack $tarball"
    SRC=$(find "$UNPACK_DIR" -mindepth 1 -maxdepth 1 -type d -name "hatang-$PRODUCT-*" | head -n 1)
    [ -n "$SRC" ] || die "$tarball is not a hatang-$PRODUCT release (no hatang-$PRODUCT-<version>/ inside)"
  else
    here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
    [ -f "$here/RELEASE.json" ] ||
      die "this script is not inside an unpacked release; pass --tarball release/hatang-$PRODUCT-<version>.tar.gz (build one with: pnpm release)"
    SRC=$here
  fi
  if [ ! -f "$SRC/RELEASE.json" ] || [ ! -f "$SRC/dist/cli.js" ]; then die "$SRC is not a complete release (RELEASE.json, dist/cli.js)"; fi
}

native_ok() {
  "$NODE" -e 'const D = require(process.argv[1]); new D(":memory:").close()' "$1/node_modules/better-sqlite3" >/dev/null 2>&1
}

ensure_build_tools() {
  local missing=''
  for t in python3 make g++; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
  [ -z "$missing" ] && return 0
  if [ -z "$ROOT" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing build tools:$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 make g++ >/dev/null || die "apt-get install python3 make g++ failed"
  else
    die "building better-sqlite3 needs:$missing"
  fi
}

# ensure_native APP: better-sqlite3 in APP loads with this node, or is rebuilt until it does.
ensure_native() {
  local app=$1 npm built nodedir
  if native_ok "$app"; then return 0; fi
  # shellcheck disable=SC2016 # a JavaScript template string
  built=$("$NODE" -p 'const n = require(process.argv[1]).native; `Node ${n.node} (ABI ${n.abi}) ${n.platform}-${n.arch}`' "$app/RELEASE.json" 2>/dev/null || echo unknown)
  say "the bundled better-sqlite3 was built for $built; this box has Node $("$NODE" -v) on $(uname -m): rebuilding it"
  if [ "${HATANG_NO_REBUILD:-0}" = 1 ]; then
    die "better-sqlite3 does not load and HATANG_NO_REBUILD=1; rebuild by hand: cd $app && npm rebuild better-sqlite3"
  fi
  npm="$(dirname "$NODE")/npm"
  [ -x "$npm" ] || npm=$(command -v npm 2>/dev/null) || die "npm is needed to rebuild better-sqlite3 (apt-get install npm, or use --node-tarball)"
  ensure_build_tools
  # Node's own headers, when it came from the official tarball, spare node-gyp a download.
  nodedir=$(cd "$(dirname "$NODE")/.." && pwd)
  if [ -f "$nodedir/include/node/node.h" ]; then export npm_config_nodedir=$nodedir; fi
  if [ "${BUILD_FROM_SOURCE:-0}" = 1 ]; then export npm_config_build_from_source=true; fi
  # npm rebuild runs better-sqlite3's install script: a prebuilt binary for this Node/CPU when one
  # can be downloaded, else a compile from the bundled SQLite sources (10-20 min on a Pi 4).
  (cd "$app" && PATH="$(dirname "$NODE"):$PATH" "$npm" rebuild better-sqlite3) ||
    die "npm rebuild better-sqlite3 failed in $app (see above). Needs internet for a prebuilt binary, or python3, make and g++ to compile; retry with --build-from-source"
  native_ok "$app" || die "better-sqlite3 still does not load after the rebuild in $app"
  say "better-sqlite3 rebuilt for this machine"
}

# install_release: copy SRC to BASE/releases/VERSION (checked to run here), without switching yet.
# Sets VERSION, OLD_VERSION (empty on a first install), NEW_APP.
install_release() {
  local name tmp
  name=$(release_field "$SRC" name) || die "cannot read $SRC/RELEASE.json"
  [ "$name" = "hatang-$PRODUCT" ] || die "$SRC is a $name release, not hatang-$PRODUCT"
  VERSION=$(release_field "$SRC" version)
  OLD_VERSION=''
  if [ -L "$BASE/current" ]; then OLD_VERSION=$(basename "$(readlink "$BASE/current")"); fi
  mkdir -p "$BASE/releases"
  tmp=$BASE/releases/.incoming-$VERSION-$$
  rm -rf "$tmp"
  if [ -n "${UNPACK_DIR:-}" ] && [ "$(dirname "$SRC")" = "$UNPACK_DIR" ]; then
    mv "$SRC" "$tmp"
  else
    cp -a "$SRC/." "$tmp/"
  fi
  chown -R root:root "$tmp" 2>/dev/null || true
  # In a subshell, so a failure can remove the half-installed copy; what runs now stays.
  if ! (ensure_native "$tmp"); then
    rm -rf "$tmp"
    die "hatang-$PRODUCT $VERSION was not installed${OLD_VERSION:+; $OLD_VERSION stays in place}"
  fi
  NEW_APP=$BASE/releases/$VERSION
  if [ -e "$NEW_APP" ]; then
    rm -rf "$BASE/releases/.replaced-$VERSION"
    mv "$NEW_APP" "$BASE/releases/.replaced-$VERSION"
  fi
  mv "$tmp" "$NEW_APP"
  rm -rf "$BASE/releases/.replaced-$VERSION"
}

# switch_current VERSION: atomically point BASE/current at releases/VERSION.
switch_current() {
  ln -sfn "releases/$1" "$BASE/current.new"
  mv -Tf "$BASE/current.new" "$BASE/current"
}

# prune_releases KEEP: remove all but the newest KEEP releases (never the current one).
prune_releases() {
  local keep=$1 cur d n=0
  cur=$(basename "$(readlink "$BASE/current")")
  # shellcheck disable=SC2012 # names are versions we made: no newlines
  ls -1t "$BASE/releases" | while read -r d; do
    n=$((n + 1))
    if [ "$d" != "$cur" ] && [ "$n" -gt "$keep" ]; then
      rm -rf "${BASE:?}/releases/$d"
      say "removed old release $d"
    fi
  done
}

ensure_user() {
  if id "$SVC_USER" >/dev/null 2>&1; then return 0; fi
  [ -z "$ROOT" ] || die "user $SVC_USER does not exist; with HATANG_ROOT set no user is created: set HATANG_USER to an existing one"
  useradd --system --user-group --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin \
    --comment "hatang $PRODUCT" "$SVC_USER" || die "cannot create user $SVC_USER"
  say "created system user $SVC_USER"
}

# SVC_GROUP: the service user's primary group (its own with useradd --user-group; nogroup for nobody).
service_group() {
  SVC_GROUP=$(id -gn "$SVC_USER") || die "cannot find the group of $SVC_USER"
}

# write_install_env KEY=VALUE...: the launcher's settings.
write_install_env() {
  local kv
  {
    echo "# Written by install-$PRODUCT.sh; read by the hatang-$PRODUCT launcher. Re-running the installer rewrites it."
    for kv in "HATANG_NODE=$NODE" "HATANG_RUN_AS=$SVC_USER" "HATANG_STATE_DIR=$STATE" "$@"; do
      printf "%s='%s'\n" "${kv%%=*}" "${kv#*=}"
    done
  } >"$BASE/install.env.new"
  chmod 0644 "$BASE/install.env.new"
  mv -f "$BASE/install.env.new" "$BASE/install.env"
}

link_launcher() {
  local name
  mkdir -p "$BINDIR"
  for name in "$@"; do
    ln -sfn "$BASE/current/bin/$name" "$BINDIR/$name"
  done
}

# install_unit FILE: into UNITDIR, with paths moved under ROOT and the user set when they differ
# from the defaults. Sets UNITS_CHANGED=1 when the file changed.
install_unit() {
  local src=$1 dest tmp
  dest=$UNITDIR/$(basename "$src")
  tmp=$dest.new
  mkdir -p "$UNITDIR"
  sed -e "s#/opt/hatang/#$ROOT/opt/hatang/#g" \
    -e "s#/etc/hatang/#$ROOT/etc/hatang/#g" \
    -e "s#/var/lib/hatang-#$ROOT/var/lib/hatang-#g" \
    -e "s#/var/backups/hatang-#$ROOT/var/backups/hatang-#g" \
    -e "s#^User=hatang-$PRODUCT\$#User=$SVC_USER#" \
    -e "s#^Group=hatang-$PRODUCT\$#Group=$SVC_GROUP#" \
    "$src" >"$tmp"
  chmod 0644 "$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$dest"
    UNITS_CHANGED=1
  fi
}
