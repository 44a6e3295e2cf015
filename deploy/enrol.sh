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
USAGE="usage: enrol.sh --hq HQ_STORE --id ID [--role site|partner|hq] --keys DIR"
# one line, as the programs' own: what is wrong, then the usage
usage() {
  echo "enrol.sh: $1; $USAGE" >&2
  exit 2
}
hq="" id="" role=site keys=""
while [ $# -gt 0 ]; do
  case $1 in
    --hq|--id|--role|--keys)
      [ $# -ge 2 ] && [ -n "$2" ] || usage "option '$1' needs a value"
      case $1 in
        --hq) hq=$2 ;;
        --id) id=$2 ;;
        --role) role=$2 ;;
        --keys) keys=$2 ;;
      esac
      shift 2 ;;
    -h|--help) echo "$USAGE"; exit 0 ;;
    *) usage "unknown option '$1'" ;;
  esac
done
[ -n "$hq" ] || usage "--hq is needed"
[ -n "$id" ] || usage "--id is needed"
[ -n "$keys" ] || usage "--keys is needed"
for f in curve.pub sign.pub; do
  [ -r "$keys/$f" ] || { echo "enrol.sh: $keys/$f is missing: send both public key files" >&2; exit 1; }
done
server=${SCSMS_SERVER:-scsms-server}
# the first line of each, without a carriage return a mail program may add
key_of() { head -n1 "$1" | tr -d '\r'; }
exec "$server" enrol --id "$id" --role "$role" --store "$hq" \
  --curve-key "$(key_of "$keys/curve.pub")" --sign-key "$(key_of "$keys/sign.pub")"
