#!/usr/bin/env bash
# The main job: install, build, then run head office and three sites as
# real processes on loopback. Each site records evidence (by hand, and a
# generated year of registers), the rules of ISO 28000 refuse what they
# must, everything syncs over CURVE-encrypted ZeroMQ, head office's policy
# reaches every site and is acknowledged, a carrier submits its signed
# declaration of security and sees head office's review, head office
# prints each site's verified head, builds the consolidated management
# review pack (HTML with charts, and a table here), the clause gaps and AEO
# readiness, and records the management review whose actions reach the
# sites. Last, an intruder edits a site's data file and
# verify names the entry.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
A="$ROOT/build/agent/scsms-agent"
S="$ROOT/build/server/scsms-server"
GEN="$ROOT/build/bench/scsms-gen"

WORK=$(mktemp -d /tmp/scsms-demo-XXXXXX)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
field() { grep "^$1 " | cut -d' ' -f2; }
# Dates relative to the day the demo runs: what is overdue, expiring or in
# the review's window must stay so whenever it is run.
day() { date -u -d "$1" +%F; }

say "head office: the server's store and keys"
"$S" init --store "$WORK/hq" | tee "$WORK/hq.keys"
SERVER_KEY=$(field curve-key < "$WORK/hq.keys")

say "three sites: each makes its keys; head office enrols them"
SITES="DXB-WH1 RTM-PORT SIN-DC"
for site in $SITES; do
  "$A" init --site "$site" --store "$WORK/$site" > "$WORK/$site.keys"
  "$S" enrol --id "$site" --role site --store "$WORK/hq" \
    --curve-key "$(field curve-key < "$WORK/$site.keys")" \
    --sign-key "$(field sign-key < "$WORK/$site.keys")"
done

say "the sync endpoint, on loopback"
"$S" run --bind 'tcp://127.0.0.1:*' --store "$WORK/hq" > "$WORK/server.out" 2> "$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
ENDPOINT=$(sed -n 's/^listening on //p' "$WORK/server.out")
echo "scsms-server listening on $ENDPOINT"

export SCSMS_AUTHOR="r.haddad (site security lead)"
DXB="$WORK/DXB-WH1"
say "DXB-WH1 records evidence by hand"
INC=$("$A" add incident --store "$DXB" --json '{"kind":"near_miss","occurred_at":"'"$(day '17 days ago')"'T10:15:00+04:00",
  "location":"Gate 3","activity":"inbound trailer inspection","category":"operational_and_human_factors",
  "severity":2,"immediate_action":"trailer held, seal replaced and logged"}')
echo "incident  $INC"
"$A" add risk --store "$DXB" --set threat_category=physical_failure_or_malicious_act \
  --set threatened="container seals" --set likelihood=4 --set consequence=4 \
  --set residual_likelihood=2 --set residual_consequence=3 --set treatment=reduce \
  --set next_review_date="$(day '3 months')" | sed 's/^/risk      /'
"$A" update "$INC" --store "$DXB" --set status=investigating --set root_cause="seal number not checked"
EQ=$("$A" add equipment --store "$DXB" --set equipment_id=CAM-07 --set kind=camera \
  --set location="Gate 3" --set next_calibration_date="$(day '5 months')" | head -n1)
"$A" add calibration --store "$DXB" --json "{\"performed_date\":\"$(day '17 days ago')\",\"result\":\"fail\",
  \"reading_before\":\"blurred\",\"reading_after\":\"blurred\",\"links\":[{\"rel\":\"equipment\",\"target\":\"$EQ\"}]}"

say "the rules refuse, in one line, and store nothing"
# each must be refused: the demo stops if one is taken
refused() { if "$@"; then echo "demo: not refused: $*" >&2; exit 1; fi; }
BEFORE=$("$A" verify --store "$DXB")
refused "$A" add risk --store "$DXB" --set threat_category=natural_events --set threatened=yard \
  --set likelihood=5 --set consequence=5 --set residual_likelihood=4 --set residual_consequence=4 \
  --set treatment=accept
refused "$A" add incident --store "$DXB" --json '{"kind":"breach","occurred_at":"2026-02-30T10:00:00Z","location":"x"}'
refused "$A" add policy --store "$DXB" --json '{"title":"my own policy","statement":"..."}'
[ "$("$A" verify --store "$DXB")" = "$BEFORE" ] ||
  { echo "demo: a refused record changed DXB-WH1's store" >&2; exit 1; }

say "RTM-PORT and SIN-DC: a generated year of registers each"
"$GEN" --store "$WORK/RTM-PORT"
"$GEN" --store "$WORK/SIN-DC" --seed 7

say "head office issues its security policy"
"$A" add policy --store "$WORK/hq" --json '{"title":"Supply chain security policy","edition":"2026",
  "statement":"We protect goods, people and information across the supply chain.",
  "approved_by":"CEO","approved_date":"'"$(day '36 days ago')"'","review_date":"'"$(day '11 months')"'",
  "status":"current"}'

"$A" add scope --store "$WORK/hq" --json '{"boundaries":"import and export flows through the three hubs",
  "sites":["DXB-WH1","RTM-PORT","SIN-DC"],"activities":["warehousing","port handling","cross-dock"],
  "status":"current"}' | sed 's/^/scope /'
"$A" add document --store "$WORK/hq" --json '{"doc_id":"SOP-SEAL","doc_version":"3","title":"Container seal procedure",
  "approver":"Head of security","approved_date":"'"$(day '67 days ago')"'",
  "review_date":"'"$(day '10 months')"'",
  "available_at":["DXB-WH1","RTM-PORT","SIN-DC"],"status":"current"}' | sed 's/^/document /'

say "every site syncs: its records up, head office's down"
for site in $SITES; do
  "$A" run --once --server "$ENDPOINT" --server-key "$SERVER_KEY" --store "$WORK/$site" | sed "s/^/$site: /"
done

say "the policy at a site, and the site's acknowledgement going back"
"$A" list --type policy --store "$WORK/SIN-DC"
"$A" add acknowledgement --store "$WORK/SIN-DC" --set subject_id=HQ-POL-000001 \
  --set subject_version=1 --set acknowledged_by="site manager" --set acknowledged_date="$(day today)"
"$A" run --once --server "$ENDPOINT" --server-key "$SERVER_KEY" --store "$WORK/SIN-DC" | sed "s/^/SIN-DC: /"

say "a business partner: a carrier enrols, submits its signed declaration and certificate"
CAR="$WORK/NL-CARRIER"
"$A" init --site NL-CARRIER --role partner --store "$CAR" > "$WORK/carrier.keys"
"$S" enrol --id NL-CARRIER --role partner --store "$WORK/hq" \
  --curve-key "$(field curve-key < "$WORK/carrier.keys")" \
  --sign-key "$(field sign-key < "$WORK/carrier.keys")"
"$A" add partner --store "$WORK/hq" --json '{"partner_id":"NL-CARRIER","name":"Van Dijk Transport",
  "partner_role":"carrier","country":"NL"}' | sed 's/^/partner record /'
DOS=$("$A" add declaration --store "$CAR" --json '{"partner_id":"NL-CARRIER",
  "coverage":"road haulage Rotterdam - Dubai hubs","flows":["export"],"covered_sites":["RTM-PORT"],
  "modes":["road"],"measures":["sealed trailers, seal numbers logged","vetted drivers","GPS tracking"],
  "valid_from_date":"'"$(day '11 months ago')"'","valid_to_date":"'"$(day '7 months')"'"}')
echo "declaration $DOS (signed with the carrier's own key)"
"$A" add certificate --store "$CAR" --json '{"partner_id":"NL-CARRIER","scheme":"aeo",
  "issuer":"NL customs","number":"NLAEOF0042","valid_from_date":"'"$(day '3 years ago')"'",
  "expiry_date":"'"$(day '3 days')"'"}' \
  | sed 's/^/certificate /'
refused "$A" add incident --store "$CAR" --json '{"kind":"breach","occurred_at":"'"$(day '17 days ago')"'T10:00:00Z","location":"x"}'
"$A" run --once --server "$ENDPOINT" --server-key "$SERVER_KEY" --store "$CAR" | sed "s/^/NL-CARRIER: /"
"$S" partners --store "$WORK/hq"
say "head office reviews the declaration's credibility; the carrier sees the verdict"
"$S" review-declaration "$DOS" --decision accepted --reviewer "M. Okafor (security manager)" \
  --reason "measures match the 2026 carrier audit" --store "$WORK/hq"
"$A" run --once --server "$ENDPOINT" --server-key "$SERVER_KEY" --store "$CAR" | sed "s/^/NL-CARRIER: /"
"$A" submissions --store "$CAR"

say "what is overdue and expiring at RTM-PORT"
"$A" due --within 30 --store "$WORK/RTM-PORT"

say "head office: every site's head, and the whole store verified under each site's key"
"$S" sites --store "$WORK/hq"
"$S" alerts --within 30 --store "$WORK/hq" | sed -n 1,8p
"$S" verify --store "$WORK/hq"
for site in $SITES; do
  printf '%-9s ' "$site"; "$A" verify --store "$WORK/$site"
done

# the review covers the twelve months to today: the records were written
# today, and a pack shows what head office held by its end date
TO=$(date -u +%F)
FROM=$(date -u -d "$TO 1 year ago" +%F)
say "head office: the consolidated management review pack, $FROM to $TO, every site"
"$S" report review --from "$FROM" --to "$TO" --format html --out "$WORK/review.html" \
  --store "$WORK/hq" | tee "$WORK/pack.out"
"$S" report review --from "$FROM" --to "$TO" --format table --store "$WORK/hq" | tee "$WORK/review.txt"
# every column of the ALL row summed: a pack with no evidence in it means
# the sites' records did not reach head office, or the window missed them
if ! awk '$1 == "ALL" { for (i = 2; i <= NF; i++) n += $i } END { exit !(n > 0) }' \
    "$WORK/review.txt"; then
  echo "demo: the consolidated review holds no evidence" >&2
  exit 1
fi

say "evidence against ISO 28000 clauses 4.1 to 4.6, and AEO readiness, per site"
"$S" report gaps --to "$TO" --format table --store "$WORK/hq"
"$S" report aeo --to "$TO" --format table --store "$WORK/hq"

say "head office records the management review on that pack; its actions go to the sites"
"$S" management-review --pack "$WORK/review.html" --from "$FROM" --to "$TO" \
  --decision "extend seal-number checks to every gate" --decision "drill at DXB-WH1 before Q1 end" \
  --action "DXB-WH1|$(day '55 days')|site security lead|Gate seal-check drill with customs liaison" \
  --action "RTM-PORT|$(day '83 days')|terminal security lead|Close overdue corrective actions" \
  --store "$WORK/hq"
"$A" run --once --server "$ENDPOINT" --server-key "$SERVER_KEY" --store "$DXB" | sed "s/^/DXB-WH1: /"
"$A" due --within 90 --store "$DXB" > "$WORK/due.txt"
grep -E "WHEN|HQ-ACT" "$WORK/due.txt"
# the review's action for DXB-WH1 reached it, and only that one
grep -q "HQ-ACT.*Gate seal-check drill" "$WORK/due.txt" ||
  { echo "demo: the management review's action did not reach DXB-WH1" >&2; exit 1; }
if grep -q "Close overdue corrective actions" "$WORK/due.txt"; then
  echo "demo: RTM-PORT's action is listed at DXB-WH1" >&2; exit 1
fi

say "an intruder edits one byte of DXB-WH1's data file: verify names the entry"
for off in $(grep -obUa "Gate 3" "$DXB/data.mdb" | cut -d: -f1); do
  printf 'g' | dd of="$DXB/data.mdb" bs=1 seek="$off" conv=notrunc status=none
done
if "$A" verify --store "$DXB"; then echo "demo: tampering was NOT detected" >&2; exit 1; fi
echo "(exit status 3: integrity failure; head office still holds the site's verified copy)"
