#!/usr/bin/env bash
# Enrol a site (or partner) at head office from the two public key files
# its 'scsms-agent init' wrote (keys/curve.pub, keys/sign.pub), as a site
# lead sends them:
#
#   deploy/enrol.sh --hq /var/lib/scsms-hq --id DXB-WH1 [--role site|partner|hq] \
#       --keys DIR_WITH_THE_TWO_PUB_FILES
#
# SCSMS_SERVER names the scsms-server binary (default: the one on PATH).
set -euo pipefail
usage() {
  echo "usage: enrol.sh --hq HQ_STORE --id ID [--role site|partner|hq] --keys DIR" >&2
  exit 2
}
hq="" id="" role=site keys=""
while [ $# -gt 0 ]; do
  case $1 in
    --hq) hq=${2:-}; shift 2 || usage ;;
    --id) id=${2:-}; shift 2 || usage ;;
    --role) role=${2:-}; shift 2 || usage ;;
    --keys) keys=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
[ -n "$hq" ] && [ -n "$id" ] && [ -n "$keys" ] || usage
for f in curve.pub sign.pub; do
  [ -r "$keys/$f" ] || { echo "enrol.sh: $keys/$f is missing: send both public key files" >&2; exit 1; }
done
server=${SCSMS_SERVER:-scsms-server}
exec "$server" enrol --id "$id" --role "$role" --store "$hq" \
  --curve-key "$(head -n1 "$keys/curve.pub")" --sign-key "$(head -n1 "$keys/sign.pub")"
