#!/usr/bin/env bash
# deploy/: the systemd units are valid units running real commands
# (systemd-analyze verify, with the built binaries in ExecStart; skipped
# when systemd-analyze is absent), and deploy/enrol.sh enrols a site from
# its two public key files so that it syncs.
#
#   deploy_check.sh SCSMS_AGENT SCSMS_SERVER
set -euo pipefail
agent=$(realpath "$1") server=$(realpath "$2")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scsms-deploy-XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid"; rm -rf "$tmp"' EXIT
fail() { echo "deploy_check: $*" >&2; exit 1; }

# enrol.sh: refused without its key files, then a site enrolled and synced
"$server" init --store "$tmp/hq" > "$tmp/hq.keys"
key=$(sed -n 's/^curve-key //p' "$tmp/hq.keys")
"$server" run --bind 'tcp://127.0.0.1:*' --store "$tmp/hq" > "$tmp/server.out" 2> "$tmp/server.err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/server.out" 2>/dev/null && break; sleep 0.05; done
ep=$(sed -n 's/^listening on //p' "$tmp/server.out")
[ -n "$ep" ] || fail "server did not start: $(cat "$tmp/server.err")"
"$agent" init --site DEP-1 --server "$ep" --server-key "$key" --store "$tmp/site" > /dev/null
mkdir "$tmp/mail"
if SCSMS_SERVER=$server "$here/deploy/enrol.sh" --hq "$tmp/hq" --id DEP-1 --keys "$tmp/mail" 2> "$tmp/err"; then
  fail "enrolled without key files"
fi
grep -q "curve.pub is missing" "$tmp/err" || fail "no clear error: $(cat "$tmp/err")"
# a wrong option is named, in one line, exit 2
st=0
"$here/deploy/enrol.sh" --hq "$tmp/hq" --bogus x 2> "$tmp/err" || st=$?
[ "$st" = 2 ] || fail "enrol.sh --bogus: exit $st"
[ "$(wc -l < "$tmp/err")" = 1 ] && grep -q "^enrol.sh: unknown option '--bogus'; usage:" "$tmp/err" ||
  fail "enrol.sh --bogus: $(cat "$tmp/err")"
# as mailed from another system: with carriage returns
for f in curve.pub sign.pub; do sed 's/$/\r/' "$tmp/site/keys/$f" > "$tmp/mail/$f"; done
SCSMS_SERVER=$server "$here/deploy/enrol.sh" --hq "$tmp/hq" --id DEP-1 --keys "$tmp/mail" > /dev/null
"$agent" add incident --json '{"kind":"breach","occurred_at":"2026-10-01T08:00:00Z","location":"Gate","severity":2}' \
  --store "$tmp/site" > /dev/null
out=$("$agent" run --once --timeout 5 --store "$tmp/site")
[[ $out == "synced with $ep: 1 entries sent"* ]] || fail "sync said '$out'"
sites=$("$server" sites --store "$tmp/hq")
[[ $sites =~ DEP-1\ +site\ +active\ +1\  ]] || fail "DEP-1 not at head 1: $sites"

# the units
if ! command -v systemd-analyze > /dev/null; then
  echo "deploy_check: systemd-analyze is not installed: units not verified"; exit 77
fi
mkdir "$tmp/units"
for u in scsms-server scsms-agent; do
  while IFS= read -r line; do # the built binaries in ExecStart (no sed: paths may hold anything)
    line=${line//\/usr\/local\/bin\/scsms-server/$server}
    printf '%s\n' "${line//\/usr\/local\/bin\/scsms-agent/$agent}"
  done < "$here/deploy/systemd/$u.service" > "$tmp/units/$u.service"
  grep -q "^ExecStart=$agent\|^ExecStart=$server" "$tmp/units/$u.service" || fail "$u: no ExecStart"
  systemd-analyze verify "$tmp/units/$u.service" 2> "$tmp/verify.err" ||
    fail "$u.service: $(cat "$tmp/verify.err")"
  # a line naming anything but the unit's own user is a defect in the unit
  if grep -v "User=scsms\|Group=scsms\|scsms: \|user .scsms." "$tmp/verify.err" | grep -q .; then
    fail "$u.service: $(cat "$tmp/verify.err")"
  fi
done
echo "deploy_check: units verified, enrol.sh enrolled a site that synced"
