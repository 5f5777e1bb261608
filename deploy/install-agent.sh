#!/usr/bin/env bash
# Install or upgrade the hatang agent on a Debian-family box (Raspberry Pi OS, Debian, Ubuntu).
#
#   tar -xzf hatang-agent-0.1.0.tar.gz
#   sudo ./hatang-agent-0.1.0/deploy/install-agent.sh --collector https://hatang.example.vn --code K7M2-QX9P
#
# Idempotent: re-running (with a newer release) upgrades in place. The configuration, the token
# and the outbox (/var/lib/hatang-agent) are kept; queued results are delivered by the new version.
# docs/deploy.md explains every step; `--help` lists the options.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"

usage() {
  cat <<'EOF'
usage: install-agent.sh [options]

  --collector URL       collector base URL, e.g. https://hatang.sonla.gov.vn (first install)
  --code CODE           one-time enrolment code (hatang-collector enroll-code create …);
                        or HATANG_ENROLL_CODE in the environment, which other users cannot see
  --access fixed|mobile access type of this commune's line (first install; default fixed)
  --isp NAME            ISP of the line, e.g. VNPT (first install)
  --iface NAME          network interface to report link speed for (first install)
  --tarball FILE        install this release tarball (default: the release this script is in)
  --node-tarball FILE   install Node.js from the official Linux binary tarball (offline boxes)
  --reenroll            enrol again although this box has a token (needs a new --code)
  --build-from-source   if better-sqlite3 must be rebuilt, compile it (no download)
  --no-start            install and enrol, but do not enable or start the service
  --keep N              releases kept for rollback (default 3)
  -h, --help            this help

Environment for tests and unusual layouts: HATANG_ROOT (install under this directory, no users,
no systemctl), HATANG_USER (service user, default hatang-agent), HATANG_NODE (node binary),
HATANG_NO_SYSTEMCTL=1, HATANG_NO_REBUILD=1.
EOF
}

COLLECTOR='' CODE=${HATANG_ENROLL_CODE:-} ACCESS='' ISP='' IFACE='' TARBALL='' NODE_TARBALL=''
REENROLL=0 START=1 KEEP=3 BUILD_FROM_SOURCE=0
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi; }
while [ $# -gt 0 ]; do
  case "$1" in
  --collector) need "$@"; COLLECTOR=$2; shift 2 ;;
  --code) need "$@"; CODE=$2; shift 2 ;;
  --access) need "$@"; ACCESS=$2; shift 2 ;;
  --isp) need "$@"; ISP=$2; shift 2 ;;
  --iface) need "$@"; IFACE=$2; shift 2 ;;
  --tarball) need "$@"; TARBALL=$2; shift 2 ;;
  --node-tarball) need "$@"; NODE_TARBALL=$2; shift 2 ;;
  --reenroll) REENROLL=1; shift ;;
  --build-from-source) BUILD_FROM_SOURCE=1; shift ;;
  --no-start) START=0; shift ;;
  --keep) need "$@"; KEEP=$2; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option $1" ;;
  esac
done
case "$ACCESS" in '' | fixed | mobile) ;; *) die "--access must be fixed or mobile, not $ACCESS" ;; esac
case "$KEEP" in '' | *[!0-9]*) die "--keep must be a number" ;; esac
[ "$KEEP" -ge 1 ] || die "--keep must be at least 1"
if [ -n "$COLLECTOR" ]; then
  case "$COLLECTOR" in http://* | https://*) ;; *) die "--collector must start with https:// (or http://), not $COLLECTOR" ;; esac
  COLLECTOR=${COLLECTOR%/}
fi
export BUILD_FROM_SOURCE

setup_paths agent
require_root "$@"
CONFIG=$ETC/agent.yaml

# A first install must say where the collector is.
if [ ! -f "$CONFIG" ] && [ -z "$COLLECTOR" ]; then
  die "first install on this box: give --collector URL and --code CODE (docs/deploy.md)"
fi

find_release_source "$TARBALL"
ensure_node "$NODE_TARBALL"

install_release
if [ -n "$OLD_VERSION" ]; then
  say "upgrading hatang-agent $OLD_VERSION -> $VERSION (configuration, token and outbox are kept)"
else
  say "installing hatang-agent $VERSION"
fi

ensure_user
service_group
mkdir -p "$ETC" "$STATE"
chmod 0755 "$ETC"
chmod 0750 "$STATE"

# The configuration is written once; later runs leave it (and the operator's edits) alone.
if [ ! -f "$CONFIG" ]; then
  {
    echo "# hatang agent configuration: every key is described in docs/agent.md."
    echo "# Written by install-agent.sh on $(date -u +%Y-%m-%dT%H:%MZ); re-running the installer keeps this file."
    echo "collector:"
    echo "  url: $COLLECTOR"
    echo "agent:"
    echo "  access: ${ACCESS:-fixed}"
    if [ -n "$ISP" ]; then echo "  isp: $ISP"; fi
    if [ -n "$IFACE" ]; then echo "  iface: $IFACE"; fi
    echo "stateDir: $STATE"
  } >"$CONFIG.new"
  mv -f "$CONFIG.new" "$CONFIG"
  say "wrote $CONFIG"
else
  say "keeping $CONFIG"
  if [ -n "$ACCESS$ISP$IFACE" ]; then
    warn "--access/--isp/--iface apply to a first install only; edit $CONFIG to change them"
  fi
fi
chown "root:$SVC_GROUP" "$CONFIG" 2>/dev/null || true
chmod 0640 "$CONFIG"

switch_current "$VERSION"
link_launcher hatang-agent
write_install_env "HATANG_CONFIG=$CONFIG"
prune_releases "$KEEP"

# agent_cli ARGS...: the installed launcher (as the service user when we are root).
agent_cli() { "$LAUNCHER" "$@"; }

# config_json KEY: a value from `hatang-agent config check --json` (the effective config, token
# shown as "(set)"), e.g. config_json collector.url; fails when it is not set.
config_json() {
  agent_cli config check --json --config "$CONFIG" 2>/dev/null |
    "$NODE" -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const j = JSON.parse(s); const v = process.argv[1].split(".").reduce((o, k) => o?.[k], j.config ?? j);
      if (v === undefined || v === null || v === "") process.exit(1); console.log(v); })' "$1"
}

enrolled() {
  config_json collector.token >/dev/null
}

if [ -n "$CODE" ]; then
  if enrolled && [ "$REENROLL" = 0 ]; then
    warn "this box is already enrolled; --code ignored (use --reenroll to trade it for a new identity)"
  else
    url=$COLLECTOR
    if [ -z "$url" ]; then
      url=$(config_json collector.url) || die "no collector.url in $CONFIG: give --collector URL"
    fi
    say "enrolling with $url"
    agent_cli enroll --collector "$url" --code "$CODE" --config "$CONFIG" --state-dir "$STATE" ||
      die "enrolment failed (see above). A code works once and expires: ask for a new one if needed"
  fi
fi
chown -R "$SVC_USER:$SVC_GROUP" "$STATE"
chown "root:$SVC_GROUP" "$CONFIG" 2>/dev/null || true
chmod 0640 "$CONFIG"

UNITS_CHANGED=0
install_unit "$NEW_APP/deploy/hatang-agent.service"
if [ "$UNITS_CHANGED" = 1 ]; then svc daemon-reload; fi

if ! enrolled; then
  warn "not enrolled yet, so the service is not started. Enrol with:
  sudo hatang-agent enroll --collector URL --code CODE && sudo systemctl enable --now hatang-agent"
elif [ "$START" = 1 ]; then
  svc enable hatang-agent.service
  # restart, not start: an upgrade must replace the running version.
  svc restart hatang-agent.service
  # Give the daemon a moment to open its outbox, so the status below sees it running.
  if use_systemctl; then sleep 3; fi
fi

say "hatang-agent $VERSION installed. Status:"
if ! agent_cli status; then
  warn "hatang-agent status reported a problem (above); docs/deploy.md lists what each line means"
fi
