#!/usr/bin/env bash
# Training-step benchmark: sketchc (TF.js, wasm backend + native matmul) vs two PyTorch peers of
# the same model: a strong one written for speed (bench/reference/roap_fast.py) and the plain
# reference (bench/reference/roap_reference.py).
#
#   bash bench/run.sh [--rounds 3] [--steps 4] [--warmup 2] [--profile-steps 2] [--coretype X]
#                     [--nice N] [--skip-check]
#
# 1. builds the runner (bench/tsconfig.json -> dist-bench/);
# 2. checks the strong peer against the plain reference (roap_fast.py --check: the same seed,
#    inputs, weights and noise; losses and gradients of the first steps) and stops if they differ;
# 3. runs six columns, each side on 1 core and on 2 cores, each in its own process, pinned with
#    taskset, with OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set per column; the columns run
#    interleaved, --rounds times (round 1: every column once, then round 2, ...), so that drift in
#    the machine's load reaches every column alike; every step of every round counts;
# 4. joins them (bench/report.ts): bench/results/training-step.{json,md}.
#
# --coretype X sets OPENBLAS_CORETYPE=X for every side (e.g. SkylakeX, Zen, Haswell); without it
# the environment is left as it is. Either way each side records OPENBLAS_CORETYPE and the core
# name OpenBLAS reports. Needs python3-torch and libopenblas0-pthread (Debian):
# see docs/performance.md.
set -euo pipefail

ARGS="$*"
cd "$(dirname "$0")/.."
ROUNDS=3
STEPS=4 # per round and column: 12 steps per cell with 3 rounds
WARMUP=2
PROFILE_STEPS=2
NICE=0 # e.g. --nice -10 (root) to shield the measurement from other work on a shared machine
CHECK=1
usage="usage: bash bench/run.sh [--rounds N] [--steps N] [--warmup N] [--profile-steps N] [--coretype X] [--nice N] [--skip-check]"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --profile-steps) PROFILE_STEPS="$2"; shift 2 ;;
    --coretype) export OPENBLAS_CORETYPE="$2"; shift 2 ;;
    --nice) NICE="$2"; shift 2 ;;
    --skip-check) CHECK=0; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done

# The cores of the two settings (override for a machine whose cores 0 and 1 are not free).
CPUS_1="${BENCH_CPUS_1:-0}"
CPUS_2="${BENCH_CPUS_2:-0,1}"

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
command -v taskset >/dev/null || { echo "bench: taskset (util-linux) is needed to pin the columns" >&2; exit 1; }

echo "bench: building the runner (tsc -p bench/tsconfig.json)"
npx tsc -p bench/tsconfig.json

RESULTS=bench/results
RAW="$RESULTS/.raw"
mkdir -p "$RAW"
rm -f "$RAW"/*.json
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }
echo "bench: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}; load average $(load) (other work on the machine skews the numbers)"

# One column: its threads and cores. The 2-core settings:
#  - sketchc: wasm runs one thread; its native kernels get both cores as sketchc's own kernel
#    threads (SKETCHC_THREADS=2: each large GEMM cut in two slices, one single-threaded sgemm
#    each, and the LayerNorm/im2col/max-pool loops), OpenBLAS itself one thread (its own
#    threading of every small GEMM was slower: docs/performance.md);
#  - strong peer: two task workers, each with one BLAS thread and one torch thread (OpenBLAS's
#    pthread pool is not shared well by two callers, and no OpenMP pool runs beside it);
#  - plain reference: its one process, OpenBLAS on both cores and torch's own OpenMP pool
#    at 1 thread, so that the two pools do not fight over the 2 cores (docs/performance.md).
# bench: column SIDE CORES FILE
column() {
  local side="$1" cores="$2" out="$3" cpus blas omp own
  if [ "$cores" = 1 ]; then cpus="$CPUS_1"; blas=1; omp=1; else cpus="$CPUS_2"; blas=2; omp=1; fi
  own="$cores"
  local common=(--steps "$STEPS" --warmup "$WARMUP" --profile-steps "$PROFILE_STEPS" --out "$out")
  local cmd
  case "$side" in
    sketchc) blas=1; cmd=(node dist-bench/bench/training-step.js "${common[@]}") ;;
    fast)
      if [ "$cores" = 1 ]; then
        cmd=("$PYTHON" bench/reference/roap_fast.py --threads 1 --workers 1 "${common[@]}")
      else
        blas=1
        cmd=("$PYTHON" bench/reference/roap_fast.py --threads 1 --workers 2 "${common[@]}")
      fi ;;
    reference) cmd=("$PYTHON" bench/reference/roap_reference.py --threads "$omp" "${common[@]}") ;;
  esac
  echo "bench: $side, $cores core(s): taskset -c $cpus, OPENBLAS_NUM_THREADS=$blas OMP_NUM_THREADS=$omp SKETCHC_THREADS=$own; load $(load)"
  SKETCHC_THREADS="$own" OPENBLAS_NUM_THREADS="$blas" OMP_NUM_THREADS="$omp" taskset -c "$cpus" nice -n "$NICE" "${cmd[@]}"
}

if [ "$CHECK" = 1 ]; then
  echo "bench: the strong peer against the plain reference (roap_fast.py --check)"
  if ! OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c "$CPUS_2" "$PYTHON" bench/reference/roap_fast.py --check; then
    echo "bench: FAILED: bench/reference/roap_fast.py does not agree with roap_reference.py; no numbers written" >&2
    exit 1
  fi
fi

INPUTS=()
for round in $(seq 1 "$ROUNDS"); do
  echo "bench: round $round of $ROUNDS"
  for cores in 1 2; do
    for side in sketchc fast reference; do
      out="$RAW/$side-${cores}c-r$round.json"
      column "$side" "$cores" "$out"
      INPUTS+=(--input "$side,$cores,$out")
    done
  done
done

node dist-bench/bench/report.js "${INPUTS[@]}" --command "bash bench/run.sh${ARGS:+ $ARGS}" --out-dir "$RESULTS"
npx prettier --log-level warn --write "$RESULTS/training-step.md"
echo "bench: wrote $RESULTS/training-step.json and $RESULTS/training-step.md (raw sides in $RAW/)"
