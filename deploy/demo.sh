#!/usr/bin/env bash
# The main job: install, build, then run a site's registers end to end:
# create a site store with its signing key, record evidence, update it,
# list and verify the tamper-evident log, back it up and restore it, and
# show that an edited data file is caught.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
A="$ROOT/build/agent/scsms-agent"

WORK=$(mktemp -d /tmp/scsms-demo-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export SCSMS_STORE="$WORK/dxb-wh1"
export SCSMS_AUTHOR="r.haddad (site security lead)"
say() { printf '\n== %s\n' "$*"; }

say "create the site store (keys are made here and never leave the site)"
"$A" init --site DXB-WH1

say "record evidence"
INC=$("$A" add incident --json '{"kind":"near_miss","occurred_at":"2026-11-20T10:15:00+04:00",
  "location":"Gate 3","activity":"inbound trailer inspection","category":"operational_and_human_factors",
  "severity":2,"immediate_action":"trailer held, seal replaced and logged"}')
echo "incident  $INC"
"$A" add incident --set kind=security_incident --set occurred_at=2026-11-21T02:40:00Z \
  --set location="Fence line north" --set severity=4 --set reported_to_authority=true \
  --set reported_at=2026-11-21T03:10:00Z --set authority_reference=POL-2026-11-0042 \
  --set immediate_action="patrol dispatched, breach repaired" | sed 's/^/incident  /'
"$A" add risk --json '{"threat_category":"physical_failure_or_malicious_act","threatened":"container seals",
  "scenario":"seal swapped during overnight parking","likelihood":4,"consequence":4,
  "existing_controls":"CCTV, seal log","residual_likelihood":2,"residual_consequence":3,
  "treatment":"reduce","risk_owner":"site security lead","next_review_date":"2027-03-01"}' | sed 's/^/risk      /'
"$A" add risk --set threat_category=natural_events --set threatened="yard drainage" \
  --set likelihood=2 --set consequence=3 --set residual_likelihood=1 --set residual_consequence=3 \
  --set treatment=accept --set next_review_date=2026-12-15 | sed 's/^/risk      /'

say "the investigation moves the incident on: a new version, the old one kept"
"$A" update "$INC" --set status=investigating --set root_cause="seal number not checked at gate"
"$A" history "$INC"

say "bad input is refused in one line and changes nothing"
"$A" add incident --json '{"kind":"breach","occurred_at":"2026-02-30T10:00:00Z","location":"x"}' || true
"$A" add policy --json '{"title":"Security policy","statement":"..."}' || true

say "the rules: an intolerable risk cannot simply be accepted; a failed calibration takes equipment out"
"$A" add risk --set threat_category=physical_failure_or_malicious_act --set threatened="bonded store" \
  --set likelihood=5 --set consequence=5 --set residual_likelihood=4 --set residual_consequence=4 \
  --set treatment=accept || true
EQ=$("$A" add equipment --set equipment_id=CAM-07 --set kind=camera --set location="Gate 3" \
  --set next_calibration_date=2027-05-01)
"$A" add calibration --json "{\"performed_date\":\"2026-11-20\",\"result\":\"fail\",
  \"reading_before\":\"blurred\",\"reading_after\":\"blurred\",
  \"links\":[{\"rel\":\"equipment\",\"target\":\"$EQ\"}]}"

say "the registers"
"$A" list
"$A" list --type risk --format csv

say "a second site with a generated year of evidence: what is overdue and expiring"
SITE2="$WORK/rtm-port"
"$A" init --site RTM-PORT --store "$SITE2" >/dev/null
"$ROOT/build/bench/scsms-gen" --store "$SITE2"
"$A" due --within 30 --store "$SITE2"

say "export it, re-import it into a rebuilt store: the same records"
"$A" export --store "$SITE2" > "$WORK/rtm.json"
"$A" init --site RTM-PORT --store "$WORK/rtm-rebuilt" >/dev/null
"$A" import "$WORK/rtm.json" --preserve --store "$WORK/rtm-rebuilt"
"$A" export --store "$WORK/rtm-rebuilt" | cmp - "$WORK/rtm.json" && echo "identical export"

say "verify: hash chain, signatures and indices"
"$A" verify

say "backup, then restore it (verified before anything is replaced)"
"$A" backup "$WORK/backup"
"$A" restore "$WORK/backup"
"$A" verify

say "an intruder edits one byte of the data file: verify names the entry"
# flip one letter of every copy of the text in the file (grep and dd only)
for off in $(grep -obUa "Fence line north" "$SCSMS_STORE/data.mdb" | cut -d: -f1); do
  printf 'f' | dd of="$SCSMS_STORE/data.mdb" bs=1 seek="$off" conv=notrunc status=none
done
if "$A" verify; then echo "demo: tampering was NOT detected" >&2; exit 1; fi
echo "(exit status 3: integrity failure, as expected)"
