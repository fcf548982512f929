#!/usr/bin/env bash
# Training-step benchmark: sketchc (TF.js, wasm backend) vs a PyTorch reference, same workloads.
#
#   bash bench/run.sh [--steps N] [--warmup N] [--profile-steps N] [--nice N]
#
# Builds the bench runner (bench/tsconfig.json -> dist-bench/), runs the sketchc side and the
# PyTorch side (bench/reference/roap_reference.py, 2 threads, then again with 1 thread), each in
# its own process, one after the other, then prints the table and writes
# bench/results/training-step.{json,md}.
# Needs python3-torch and libopenblas0-pthread (Debian): see docs/performance.md.
set -euo pipefail

cd "$(dirname "$0")/.."
STEPS=10
WARMUP=2
PROFILE_STEPS=5
NICE=0 # e.g. --nice -10 (root) to shield the measurement from other work on a shared machine
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --profile-steps) PROFILE_STEPS="$2"; shift 2 ;;
    --nice) NICE="$2"; shift 2 ;;
    *) echo "usage: bash bench/run.sh [--steps N] [--warmup N] [--profile-steps N] [--nice N]" >&2; exit 2 ;;
  esac
done

# Debian's python3-torch lives in the system interpreter, which a pyenv or venv python3 on PATH hides.
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c "import torch" 2>/dev/null; then
      PYTHON="$candidate"
      break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "bench: no python3 with torch; install it with: apt-get install -y python3-torch libopenblas0-pthread" >&2
  exit 1
fi

echo "bench: building the runner (tsc -p bench/tsconfig.json)"
npx tsc -p bench/tsconfig.json

RESULTS=bench/results
mkdir -p "$RESULTS"
SKETCHC_JSON="$RESULTS/.sketchc.json"
PYTORCH_JSON="$RESULTS/.pytorch.json"
PYTORCH_1T_JSON="$RESULTS/.pytorch-1t.json"
rm -f "$SKETCHC_JSON" "$PYTORCH_JSON" "$PYTORCH_1T_JSON"
echo "bench: load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') (other work on the machine skews the numbers)"

echo "bench: sketchc (TF.js wasm)"
nice -n "$NICE" node dist-bench/bench/training-step.js --out "$SKETCHC_JSON" \
  --steps "$STEPS" --warmup "$WARMUP" --profile-steps "$PROFILE_STEPS"

echo "bench: PyTorch reference ($PYTHON)"
nice -n "$NICE" "$PYTHON" bench/reference/roap_reference.py --out "$PYTORCH_JSON" --threads 2 \
  --steps "$STEPS" --warmup "$WARMUP" --profile-steps "$PROFILE_STEPS"

# The same reference with 1 thread, the thread count of sketchc's wasm backend in Node. On a
# loaded 2-core machine 2 OpenMP threads stall on each other (see docs/performance.md).
echo "bench: PyTorch reference, 1 thread"
nice -n "$NICE" "$PYTHON" bench/reference/roap_reference.py --out "$PYTORCH_1T_JSON" --threads 1 \
  --steps "$STEPS" --warmup "$WARMUP" --profile-steps "$PROFILE_STEPS"

node dist-bench/bench/report.js --sketchc "$SKETCHC_JSON" --pytorch "$PYTORCH_JSON" --pytorch-1t "$PYTORCH_1T_JSON" --out-dir "$RESULTS"
npx prettier --log-level warn --write "$RESULTS/training-step.md"
echo "bench: wrote $RESULTS/training-step.json and $RESULTS/training-step.md"
