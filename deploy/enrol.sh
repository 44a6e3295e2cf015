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
  echo "usage: enrol.sh --hq HQ_STORE --id ID [--role site|partner|hq] --keys DIR" >&"${1:-2}"
  [ "${1:-2}" = 1 ] && exit 0
  exit 2
}
hq="" id="" role=site keys=""
while [ $# -gt 0 ]; do
  case $1 in
    --hq) hq=${2:-}; shift 2 || usage ;;
    --id) id=${2:-}; shift 2 || usage ;;
    --role) role=${2:-}; shift 2 || usage ;;
    --keys) keys=${2:-}; shift 2 || usage ;;
    -h|--help) usage 1 ;;
    *) usage ;;
  esac
done
[ -n "$hq" ] && [ -n "$id" ] && [ -n "$keys" ] || usage
for f in curve.pub sign.pub; do
  [ -r "$keys/$f" ] || { echo "enrol.sh: $keys/$f is missing: send both public key files" >&2; exit 1; }
done
server=${SCSMS_SERVER:-scsms-server}
# the first line of each, without a carriage return a mail program may add
key_of() { head -n1 "$1" | tr -d '\r'; }
exec "$server" enrol --id "$id" --role "$role" --store "$hq" \
  --curve-key "$(key_of "$keys/curve.pub")" --sign-key "$(key_of "$keys/sign.pub")"
