#!/usr/bin/env bash
# Lighthouse (mobile) on three pages of a local demo server, a CI check (`make lighthouse`, from .ci/run):
#   home     /                                  signed in as the demo social worker (李娜)
#   checkin  /meals/agreements/<id>/checkin     signed in as the demo neighbour (赵桂兰)
#   review   /review                            the review queue of the demo social worker
# Fails (exit 1) when a page's performance is below $MIN_PERFORMANCE or its accessibility below
# $MIN_ACCESSIBILITY.
#
# Lighthouse is the npm package, pinned in the Makefile (LIGHTHOUSE_VERSION) and installed there into
# .venv/lighthouse; `make lighthouse` passes its path as $LIGHTHOUSE. Node here is 20 and Lighthouse 13
# needs Node 22.19 or later, hence 12.x. It drives Debian's Chromium ($CHROME_PATH), with its mobile
# defaults (Moto G Power screen, simulated slow 4G and 4x CPU slowdown).
# The sessions come from tests/e2e/offline_support.py (`serve`), as Cookie headers (--extra-headers).
# Lighthouse 12 has no PWA category: installability comes from Chromium's own check
# (Page.getInstallabilityErrors, none listed = installable) in a persistent profile on http://localhost.
# Best practices and installability are printed, not checked.
#
# Prints a table of each page's scores and the audits that cost points, then the last line:
#   result home_performance=… home_accessibility=… home_best_practices=… checkin_performance=… …
#   review_best_practices=… pwa_installable=yes|no
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LIGHTHOUSE=${LIGHTHOUSE:-.venv/lighthouse/node_modules/.bin/lighthouse}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
MIN_PERFORMANCE=${MIN_PERFORMANCE:-95}
MIN_ACCESSIBILITY=${MIN_ACCESSIBILITY:-100}
# Lighthouse's performance score is noisy on a 2-core machine that may be busy with something else: each
# page is measured up to RUNS times, stopping at the first run that meets both bars, and the run kept is
# the best one (meets both bars first, then the highest performance). Accessibility does not vary between
# runs, and must be at the bar in the run kept.
RUNS=${RUNS:-3}

[ -x "$LIGHTHOUSE" ] || { echo "no Lighthouse at $LIGHTHOUSE: run \`make lighthouse\` (it installs it)"; exit 1; }
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$PY" -m tests.e2e.offline_support serve "$work/info.json" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do [ -s "$work/info.json" ] || ! kill -0 "$server" 2>/dev/null && break; sleep 0.5; done
[ -s "$work/info.json" ] || { echo "the demo server did not start:"; tail -20 "$work/serve.log"; exit 1; }
base=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$work/info.json")

# One line per page: name, URL; and each page's headers to $work/<name>.headers.json.
pages=$("$PY" - "$work" <<'PYEOF'
import json, sys
from pathlib import Path
work = Path(sys.argv[1])
for page in json.loads((work / "info.json").read_text())["pages"]:
    (work / f"{page['name']}.headers.json").write_text(json.dumps(page["headers"]))
    print(page["name"], page["url"])
PYEOF
)

# Exit 0 when this report meets both bars.
meets_bars() {
  "$PY" - "$1" "$MIN_PERFORMANCE" "$MIN_ACCESSIBILITY" <<'PYEOF'
import json, sys
report = json.load(open(sys.argv[1]))
cats, audits = report["categories"], report["audits"]
perf, a11y = (round((cats[key]["score"] or 0) * 100) for key in ("performance", "accessibility"))
metrics = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "server-response-time")
shown = ", ".join(f"{m.replace('-', ' ')} {audits[m].get('displayValue', '')}" for m in metrics)
print(f"performance={perf} accessibility={a11y} ({shown})")
sys.exit(0 if perf >= int(sys.argv[2]) and a11y >= int(sys.argv[3]) else 1)
PYEOF
}

echo "Lighthouse $("$LIGHTHOUSE" --version), mobile, Chromium at $CHROME_PATH"
start=$SECONDS
while read -r name url; do
  for run in $(seq 1 "$RUNS"); do
    report="$work/$name.$run.report.json"
    printf '%-8s run %d: %s ... ' "$name" "$run" "$url"
    # A run can fail on Lighthouse's side (NO_NAVSTART: "something went wrong with recording the trace"
    # happened once in CI on a busy machine): such a run is tried again, like a slow one; only a page
    # without one good report fails below.
    if ! "$LIGHTHOUSE" "$url" \
      --quiet --output=json --output-path="$report" \
      --only-categories=performance,accessibility,best-practices \
      --extra-headers="$work/$name.headers.json" \
      --chrome-flags="--headless=new --no-sandbox --disable-gpu" </dev/null; then
      echo "Lighthouse itself failed on this run; trying again"
      rm -f "$report"
      continue
    fi
    if meets_bars "$report"; then break; fi
  done
done <<<"$pages"
echo "($((SECONDS - start)) s of Lighthouse)"

installable=$("$PY" -m tests.e2e.offline_support installable "$base" | tail -1)

"$PY" - "$work" "$installable" "$MIN_PERFORMANCE" "$MIN_ACCESSIBILITY" <<'PYEOF'
import json, sys
from pathlib import Path

work, installable = Path(sys.argv[1]), sys.argv[2]
min_perf, min_a11y = int(sys.argv[3]), int(sys.argv[4])
KEYS = ("performance", "accessibility", "best-practices")
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift")


def scores(report):
    return {key: round((report["categories"][key]["score"] or 0) * 100) for key in KEYS}


kept, failed = {}, []
for page in json.loads((work / "info.json").read_text())["pages"]:
    name = page["name"]
    runs = [json.loads(path.read_text()) for path in sorted(work.glob(f"{name}.*.report.json"))]
    runs = [r for r in runs if not r.get("runtimeError")]  # a run Lighthouse could not record
    if not runs:
        raise SystemExit(f"no Lighthouse report for {name}: every run failed")

    def rank(report):
        s = scores(report)
        return (s["performance"] >= min_perf and s["accessibility"] >= min_a11y, s["performance"], s["accessibility"])

    best = max(runs, key=rank)
    kept[name] = (best, scores(best), [scores(r)["performance"] for r in runs])

print()
print(f"{'page':<8} {'perf':>5} {'a11y':>5} {'best-pr':>7}  performance of each run   measured")
for name, (report, s, perfs) in kept.items():
    ok = s["performance"] >= min_perf and s["accessibility"] >= min_a11y
    if not ok:
        failed.append(name)
    # A redirect to /signin would mean the session cookie was not taken: say which page was measured.
    measured = report.get("finalDisplayedUrl") or report.get("finalUrl")
    print(
        f"{name:<8} {s['performance']:>5} {s['accessibility']:>5} {s['best-practices']:>7}  "
        f"{','.join(map(str, perfs)):<24}  {measured}{'' if ok else '   BELOW THE BAR'}"
    )
for name, (report, s, _) in kept.items():
    print(f"\n{name}: " + ", ".join(f"{m} {report['audits'][m].get('displayValue', '')}" for m in METRICS))
    for key in KEYS:
        for ref in report["categories"][key]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 0.9:
                print(f"  {key}: {audit['id']} ({audit['score']:.2f}) {audit.get('displayValue', '')} - {audit['title']}")
print(f"\ninstallable: {installable}")
flag = "yes" if installable == "yes" else "no"
fields = []
for name, (_, s, _) in kept.items():
    fields += [
        f"{name}_performance={s['performance']}",
        f"{name}_accessibility={s['accessibility']}",
        f"{name}_best_practices={s['best-practices']}",
    ]
if failed:
    print(
        f"FAILED: {', '.join(failed)} below the bar (performance {min_perf}, accessibility {min_a11y});"
        " the audits listed above cost the points"
    )
print("result " + " ".join(fields) + f" pwa_installable={flag}")
sys.exit(1 if failed else 0)
PYEOF
