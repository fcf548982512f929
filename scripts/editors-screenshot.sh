#!/usr/bin/env bash
# Remakes docs/editors-highlight.png (the highlighting shown in docs/editors.md):
#
#   bash scripts/editors-screenshot.sh [SKETCH] [PNG]     # default: sketches/smooth.sketch
#
# Builds scripts/ (scripts/tsconfig.json -> dist-scripts/), then renders the sketch through the
# extension's TextMate grammar and screenshots it with headless Chromium
# (apt-get install -y chromium; CHROMIUM=/path/to/chrome to use another).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p scripts/tsconfig.json
node dist-scripts/scripts/editors-screenshot.js "$@"
