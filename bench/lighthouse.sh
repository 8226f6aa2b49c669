#!/usr/bin/env bash
# Lighthouse (mobile) on the check-in page of a local demo server, signed in as the demo neighbour.
#
# Node here is 20 and Lighthouse 13 needs Node 22.19 or later, so this runs lighthouse@12.8.2 from the
# npm registry (npx downloads it once, about 30 MB, then uses its cache) with Debian's Chromium.
# Lighthouse 12 has no PWA category: installability comes from Chromium's own check
# (Page.getInstallabilityErrors, none listed = installable) in a persistent profile on http://localhost,
# through tests/e2e/offline_support.py. Run by hand; CI does not run it (it needs the download).
# Prints each category's score and the audits that cost points, then the last line:
#   result performance=… accessibility=… best_practices=… pwa_installable=yes|no
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$PY" -m tests.e2e.offline_support serve "$work/info.json" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do [ -s "$work/info.json" ] && break; sleep 0.5; done
[ -s "$work/info.json" ] || { echo "the demo server did not start:"; tail -20 "$work/serve.log"; exit 1; }
url=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkin_url"])' "$work/info.json")
base=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$work/info.json")
"$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["headers"]))' "$work/info.json" >"$work/headers.json"

echo "Lighthouse 12.8.2, mobile, on $url"
npx -y lighthouse@12.8.2 "$url" \
  --quiet --output=json --output-path="$work/report.json" \
  --only-categories=performance,accessibility,best-practices \
  --extra-headers="$work/headers.json" \
  --chrome-flags="--headless=new --no-sandbox --disable-gpu"

installable=$("$PY" -m tests.e2e.offline_support installable "$base" | tail -1)

"$PY" - "$work/report.json" "$installable" <<'PYEOF'
import json, sys
report = json.load(open(sys.argv[1]))
cats = report["categories"]
# A redirect to /signin would mean the session cookie was not taken: say which page was measured.
print(f"measured: {report.get('finalDisplayedUrl') or report.get('finalUrl')}")
scores = {key: round(cats[key]["score"] * 100) for key in ("performance", "accessibility", "best-practices")}
print(f"{'category':<16} {'score':>5}")
for key, value in scores.items():
    print(f"{key:<16} {value:>5}")
for key in scores:
    for ref in cats[key]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if ref["weight"] and audit["score"] is not None and audit["score"] < 0.9:
            print(f"  {key}: {audit['id']} ({audit['score']:.2f}) {audit.get('displayValue', '')}")
metrics = report["audits"]
for metric in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift"):
    print(f"  {metric}: {metrics[metric].get('displayValue', '')}")
print(f"installable: {sys.argv[2]}")
flag = "yes" if sys.argv[2] == "yes" else "no"
print(
    f"result performance={scores['performance']} accessibility={scores['accessibility']} "
    f"best_practices={scores['best-practices']} pwa_installable={flag}"
)
PYEOF
