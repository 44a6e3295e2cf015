#!/usr/bin/env bash
# The review pack in a real browser: build the known data set
# (test_report --fixture), write the HTML pack with the real scsms-server,
# render it in headless Chromium with every network path shut, and check
# the rendered DOM holds each chart and the key figures; take a
# screenshot. Skips (77) only when Chromium is not installed at all.
#
#   browser_review.sh TEST_REPORT SCSMS_SERVER [SCREENSHOT.png]
set -euo pipefail
fixture=$1 server=$2 shot=${3:-}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "browser_review: chromium is not installed: skipped"; exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scsms-browser-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "browser_review: $*" >&2; exit 1; }

"$fixture" --fixture "$tmp" >/dev/null
out=$("$server" report review --from 2026-01-01 --to 2026-06-30 --out "$tmp/review.html" --store "$tmp/hq")
sum=$(sha256sum "$tmp/review.html" | cut -d' ' -f1)
[[ $out == *"sha256 $sum"* ]] || fail "printed '$out', file hashes to $sum"

# self-contained: nothing to fetch
for s in 'http://' 'https://' 'src=' '<link' '<script'; do
  if grep -qF "$s" "$tmp/review.html"; then fail "the pack contains '$s'"; fi
done

# root needs --no-sandbox; a profile of its own; no network at all
flags=(--headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile"
       --no-first-run --disable-background-networking --disable-component-update
       --disable-sync --disable-extensions --disable-default-apps
       --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server="127.0.0.1:9")
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$tmp/review.html" \
  >"$tmp/dom.html" 2>"$tmp/chromium.log" || { cat "$tmp/chromium.log" >&2; fail "chromium failed"; }

for id in chart-incidents-month chart-incidents-sites chart-incidents-category \
          chart-risk-inherent chart-risk-residual chart-actions-status chart-actions-ageing \
          chart-findings-clause chart-measurements chart-objectives chart-training \
          chart-equipment chart-drills chart-partners chart-followup; do
  grep -q "<svg class=\"chart [a-z]*\" id=\"$id\"" "$tmp/dom.html" || fail "no chart $id in the DOM"
done
n=$(grep -o '<svg class="chart' "$tmp/dom.html" | wc -l)
[ "$n" -eq 16 ] || fail "$n charts rendered, want 16"
# key figures of the known data set, as rendered
for fig in 'fig-incidents">2<' 'fig-near-misses">3<' 'fig-intolerable-risks">1<' \
           'fig-overdue-actions">3<' 'fig-findings">3<' 'fig-valid-training">3<' \
           'fig-drills-held">1<' 'fig-drills-planned">2<' 'fig-partners-both">1<' \
           'site-count">3<' 'previous-review">HQ-MRV-000010<'; do
  grep -qF "$fig" "$tmp/dom.html" || fail "figure $fig not in the DOM"
done
# bars carry their values: SITE-A's 2026-01 cell and the 4x5 inherent risk
grep -q 'data-value="2"><title>SITE-A / 2026-01: 2</title>' "$tmp/dom.html" || fail "site grid"
grep -q '<title>likelihood 4 / C 5: 1</title>' "$tmp/dom.html" || fail "inherent heat map"

timeout 120 "$browser" "${flags[@]}" --window-size=1200,2600 --screenshot="$tmp/review.png" \
  "file://$tmp/review.html" >/dev/null 2>>"$tmp/chromium.log" || fail "no screenshot"
[ "$(head -c 8 "$tmp/review.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "screenshot is not a PNG"
[ "$(stat -c %s "$tmp/review.png")" -gt 20000 ] || fail "screenshot is blank"
if [ -n "$shot" ]; then cp "$tmp/review.png" "$shot"; fi
echo "browser_review: $n charts and the key figures rendered by $("$browser" --version 2>/dev/null | head -1)"
