#!/usr/bin/env bash
# Opens DIR/report.html in headless Chromium (Debian's `chromium`), asserts that the rendered DOM
# holds the tables and SVG figures the report promises (from DIR/results.json), and writes a
# screenshot. Usage: scripts/check-report.sh DIR [SCREENSHOT.png] (REPORT_SHOT_HEIGHT: its height in px)
set -euo pipefail
dir="$1"
shot="${2:-}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "check-report: chromium is not installed (apt-get install chromium)" >&2
  exit 2
fi
page="file://$(realpath "$dir/report.html")"
dom="$(timeout 120 "$browser" --headless --no-sandbox --disable-gpu --dump-dom "$page" 2>/dev/null)"
tables="$(node -e 'const r=require(process.argv[1]);console.log(r.tables.length)' "$(realpath "$dir/results.json")")"
figures="$(node -e 'const r=require(process.argv[1]);console.log(r.figures.length)' "$(realpath "$dir/results.json")")"
got_tables="$( (grep -o '<table class="results"' <<<"$dom" || true) | wc -l)"
got_svgs="$( (grep -o '<svg' <<<"$dom" || true) | wc -l)"
if [ "$got_tables" -ne "$tables" ] || [ "$got_svgs" -lt "$figures" ]; then
  echo "check-report: the rendered page has $got_tables tables and $got_svgs SVGs; results.json promises $tables and $figures" >&2
  exit 1
fi
if [ "$tables" -gt 0 ] && ! grep -q '<td' <<<"$dom"; then
  echo "check-report: the tables rendered no cells" >&2
  exit 1
fi
if [ -n "$shot" ]; then
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="1400,${REPORT_SHOT_HEIGHT:-1100}" --screenshot="$(realpath -m "$shot")" "$page" >/dev/null 2>&1
  [ -s "$shot" ] || { echo "check-report: no screenshot written" >&2; exit 1; }
fi
echo "check-report: $dir/report.html renders $got_tables tables and $got_svgs SVG figures"
