#!/usr/bin/env bash
# The whole training step as `sketchc train` runs it (nets, abduction, the program memory, the
# search), for two builds of sketchc side by side: each resumes the same checkpoint for one more
# epoch, interleaved over rounds, so that drift in the machine's load reaches both alike.
#
#   bash bench/resume-steps.sh RUN_DIR ROOT_A ROOT_B [--rounds 3] [--sketch sketches/arith.sketch]
#                              [--env-a "NAME=VALUE ..."] [--env-b "NAME=VALUE ..."]
#
# RUN_DIR: a finished run folder (its checkpoint and config are resumed; e.g. the README's main
# command's runs/latest). ROOT_A, ROOT_B: two built checkouts of sketchc (npm ci, or npx tsc -p
# tsconfig.build.json and node native/build.mjs in a `git worktree`). Prints, per round and build,
# the seconds of the second resumed epoch (its steps alone: the difference of the last two
# wallSeconds in log.jsonl, so start-up and the first steps' warm-up stay out) and the loss it
# ended at, then the medians, and each process's user and system CPU seconds. --env-a / --env-b
# add environment variables to one side (e.g. the same build twice, --env-a
# SKETCHC_BLAS_THREADS=2 --env-b SKETCHC_BLAS_THREADS=1). Nothing in RUN_DIR is changed.
set -euo pipefail

if [ $# -lt 3 ]; then
  sed -n '2,12p' "$0"
  exit 2
fi
RUN=$1
A=$2
B=$3
shift 3
ROUNDS=3
SKETCH=sketches/arith.sketch
ENV_A=""
ENV_B=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --sketch) SKETCH=$2; shift 2 ;;
    --env-a) ENV_A=$2; shift 2 ;;
    --env-b) ENV_B=$2; shift 2 ;;
    *) echo "resume-steps.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for root in "$A" "$B"; do
  [ -f "$root/bin/sketchc.js" ] || { echo "resume-steps.sh: no bin/sketchc.js under $root" >&2; exit 2; }
done
[ -f "$RUN/checkpoint.ckpt" ] || { echo "resume-steps.sh: no checkpoint.ckpt in $RUN" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")/.." && pwd)
# The run's own seed (its tasks): sketchc refuses to resume a checkpoint under another.
SEED=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).config.seed)' "$RUN/metrics.json")
EPOCHS=$(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n");console.log(JSON.parse(l[l.length-1]).epoch)' "$RUN/log.jsonl")
TMP=$(mktemp -d /tmp/sketchc-resume-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
declare -A SECONDS_OF
for round in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    root=$A; extra=$ENV_A
    [ $side = B ] && root=$B && extra=$ENV_B
    out="$TMP/$side"
    rm -rf "$out"
    cp -r "$RUN" "$out"
    # shellcheck disable=SC2086 # the extra variables are split on purpose
    /usr/bin/time -f "%U %S" -o "$TMP/cpu" env $extra node "$root/bin/sketchc.js" train \
      "$HERE/$SKETCH" --out "$out" --seed "$SEED" --epochs $((EPOCHS + 2)) --eval-every 1000 \
      --quiet >/dev/null
    wall=$(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").map(JSON.parse);const [a,b]=l.slice(-2);console.log((b.wallSeconds-a.wallSeconds).toFixed(1), b.loss.toFixed(4))' "$out/log.jsonl")
    read -r user sys <"$TMP/cpu"
    echo "round $round  $side  ${wall% *} s  loss ${wall#* }  (process: ${user} s user, ${sys} s system)"
    SECONDS_OF[$side]="${SECONDS_OF[$side]:-} ${wall% *}"
  done
done
for side in A B; do
  median=$(echo ${SECONDS_OF[$side]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  echo "median $side: $median s for one epoch ($( [ $side = A ] && echo "$A" || echo "$B"))"
done
