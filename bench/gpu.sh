#!/usr/bin/env bash
# The paper preset (ResNet-18 grounder, T = 500 tasks) trained for a few hundred steps on the
# webgpu backend (tfjs-backend-webgpu through Dawn's `webgpu` package, on Vulkan), on a machine
# with a GPU and neither Node nor a network: node and a pruned node_modules come from the bundle
# that `bash bench/gpu-bundle.sh` builds (bench/.gpu-bundle). Prints the adapter, webgpu against a
# CPU backend on a small batch (bench/gpu-check.mjs: wasm, or GPU_CHECK_REFERENCE=cpu), the step
# times and the metrics; with $OUT set, copies the run's metrics.json, log.jsonl and programs.txt
# there. Bounded to about 8 minutes: the training stops at GPU_TRAIN_SECONDS and its last
# checkpoint is evaluated.
# Knobs (environment): GPU_EPOCHS (4), GPU_STEPS (50 per epoch), GPU_TASKS (500),
# GPU_GROUNDER (resnet18), GPU_TEST_PAIRS (1000), GPU_TRAIN_SECONDS (330), GPU_BUNDLE.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bundle=${GPU_BUNDLE:-$here/.gpu-bundle}
epochs=${GPU_EPOCHS:-4}
steps=${GPU_STEPS:-50}
tasks=${GPU_TASKS:-500}
grounder=${GPU_GROUNDER:-resnet18}
test_pairs=${GPU_TEST_PAIRS:-1000}
train_seconds=${GPU_TRAIN_SECONDS:-330}
started=$(date +%s)

if [ ! -f "$bundle/node.xz" ] || [ ! -f "$bundle/app.tar.xz" ]; then
  echo "gpu.sh: error: no bundle in $bundle: run \`bash bench/gpu-bundle.sh\` on a machine with npm" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/sketchc-gpu.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. Node and sketchc, unpacked (the bundle's xz where the machine has none).
unxz_to_stdout() {
  if command -v xz >/dev/null; then
    xz -dc "$1"
  else
    LD_LIBRARY_PATH="$bundle/xz" "$bundle/xz/xz" -dc "$1"
  fi
}
unxz_to_stdout "$bundle/node.xz" >"$work/node"
chmod +x "$work/node"
unxz_to_stdout "$bundle/app.tar.xz" | tar -xf - -C "$work"
node="$work/node"
sketchc_dir="$work/app/node_modules/sketchc"
sketchc() { "$node" "$sketchc_dir/bin/sketchc.js" "$@"; }
echo "gpu.sh: node $("$node" --version), sketchc $(sketchc --version), unpacked in $(($(date +%s) - started)) s"

# 2. The adapter Dawn finds (a GPU's, or lavapipe's llvmpipe on a machine without one).
(cd "$work/app" && "$node" --input-type=module -e '
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);
  const adapter = await create([]).requestAdapter();
  if (!adapter) { console.error("gpu.sh: error: no WebGPU adapter (is a Vulkan driver installed?)"); process.exit(1); }
  const i = adapter.info;
  console.log(`gpu.sh: adapter ${i.vendor} ${i.architecture} ${i.device} ${i.description}`.replace(/\s+/g, " "));
' 2>&1 | grep -v "artificially reduced")

# 3. webgpu against a CPU backend, a few steps on a small batch.
echo "gpu.sh: webgpu against ${GPU_CHECK_REFERENCE:-wasm} (paper preset, ${GPU_CHECK_GROUNDER:-resnet18}, ${GPU_CHECK_PAIRS:-2} pairs a step)"
"$node" "$here/gpu-check.mjs" "$work/app" "$work/check" 2>&1 | grep -v "artificially reduced"

# 4. The training run, bounded in time: each epoch ends in a checkpoint.
data="$sketchc_dir/runtime/data/fixtures/fashion-mnist-sample"
run="$work/run"
echo "gpu.sh: training $((epochs * steps)) steps (paper preset, $grounder, T = $tasks) on webgpu"
set +e
timeout "$train_seconds" "$node" "$sketchc_dir/bin/sketchc.js" train "$sketchc_dir/sketches/arith.sketch" \
  --backend webgpu --preset paper --grounder "$grounder" --tasks "$tasks" \
  --epochs "$epochs" --steps "$steps" --eval-every "$epochs" --test-pairs "$test_pairs" \
  --data "$data" --out "$run" 2>&1 | grep -v "artificially reduced"
status=${PIPESTATUS[0]}
set -e
if [ "$status" = 124 ]; then
  echo "gpu.sh: the training reached GPU_TRAIN_SECONDS=$train_seconds; evaluating its last checkpoint"
  [ -f "$run/checkpoint.ckpt" ] || {
    echo "gpu.sh: error: no epoch finished within $train_seconds s" >&2
    exit 1
  }
  sketchc eval "$run" 2>&1 | grep -v "artificially reduced"
elif [ "$status" != 0 ]; then
  echo "gpu.sh: error: the training failed (exit status $status)" >&2
  exit "$status"
fi

# 5. Step times (from the log's wall clock; an epoch with an evaluation includes it) and metrics.
"$node" --input-type=module -e '
  import * as fs from "node:fs";
  const [run, steps] = process.argv.slice(1);
  const log = fs.readFileSync(`${run}/log.jsonl`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  let before = 0;
  for (const r of log) {
    const ms = ((r.wallSeconds - before) * 1000) / Number(steps);
    console.log(`epoch ${r.epoch}: loss ${r.loss?.toFixed(4)}, ${ms.toFixed(0)} ms a step${"symbolicLoss" in r ? " (the evaluation included)" : ""}`);
    before = r.wallSeconds;
  }
  if (fs.existsSync(`${run}/metrics.json`)) {
    const m = JSON.parse(fs.readFileSync(`${run}/metrics.json`, "utf8"));
    const keep = ["programSuccess", "foundProgramSuccess", "symbolicLoss", "groundingAccuracy", "testLoss", "meanProgramLength", "wallSeconds", "backend", "epochs"];
    console.log(JSON.stringify(Object.fromEntries(keep.filter((k) => k in m).map((k) => [k, m[k]])), null, 2));
  }
' "$run" "$steps"
if [ -n "${OUT:-}" ]; then
  for f in metrics.json log.jsonl programs.txt; do
    [ -f "$run/$f" ] && cp "$run/$f" "$OUT/"
  done
fi
echo "gpu.sh: done in $(($(date +%s) - started)) s"
