#!/usr/bin/env bash
# Builds what bench/gpu.sh needs on a GPU machine that has neither Node nor a network, into an
# ignored folder (default bench/.gpu-bundle, under 64 MiB with the working tree):
#   node.xz      this machine's node binary (Node >= 20), xz-compressed
#   xz/          xz and liblzma, for a machine without xz
#   app.tar.xz   app/: sketchc as `npm pack` ships it, installed with tfjs-backend-webgpu and
#                webgpu (Dawn), node_modules pruned to the files a run opens (traced with strace)
#                plus every package.json, and webgpu's linux-x64 binary alone
# Needs node, npm (registry or cache), strace and xz here. Usage: bash bench/gpu-bundle.sh [OUT]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/bench/.gpu-bundle}")
webgpu_packages=(@tensorflow/tfjs-backend-webgpu@4.22.0 webgpu@0.6.2)
for tool in node npm strace xz; do
  command -v "$tool" >/dev/null || {
    echo "gpu-bundle: error: needs $tool" >&2
    exit 1
  }
done
stage=$(mktemp -d "${TMPDIR:-/tmp}/sketchc-gpu-bundle.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# 1. sketchc as users get it (npm pack runs `prepare`, the tsc build), with the webgpu packages.
echo "gpu-bundle: packing sketchc and installing it with ${webgpu_packages[*]}"
tarball=$(cd "$root" && npm pack --silent --pack-destination "$stage" | tail -1)
mkdir "$stage/app"
cd "$stage/app"
echo '{ "name": "sketchc-gpu-bundle", "private": true }' >package.json
# No install scripts: the native BLAS addon is for wasm, which gpu.sh does not use.
npm install --prefer-offline --no-audit --no-fund --ignore-scripts --omit=dev \
  --loglevel=error "$stage/$tarball" "${webgpu_packages[@]}" >/dev/null
app_sketchc=node_modules/sketchc

# 2. The files a short wasm run (compile, train, evaluate, checkpoint) and loading webgpu open
# (sketchc's own files are kept whole, so the small CNN's run stands for ResNet-18's).
echo "gpu-bundle: tracing a short run"
strace -f -qq -e trace=open,openat -o "$stage/trace" \
  node "$app_sketchc/bin/sketchc.js" train "$app_sketchc/sketches/arith.sketch" \
  --backend wasm --preset paper --tasks 4 --held-out-tasks 0 --generalization-tasks 2 \
  --epochs 1 --steps 1 --batch 2 --train-pairs 16 --test-pairs 8 \
  --data "$app_sketchc/runtime/data/fixtures/fashion-mnist-sample" --out "$stage/run" >/dev/null 2>&1
strace -f -qq -e trace=open,openat -o "$stage/trace-webgpu" \
  node --input-type=module -e 'await import("webgpu"); await import("@tensorflow/tfjs-backend-webgpu"); await import("@tensorflow/tfjs-backend-cpu");'
keep="$stage/keep"
cat "$stage"/trace* | grep -v ENOENT | grep -o "\"$stage/app/node_modules/[^\"]*\"" | tr -d '"' |
  sed "s|^$stage/app/||" | sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done >"$keep"
find node_modules -name package.json -type f >>"$keep"
# sketchc whole (its dist, sketches and sample data), but not its docs.
find "$app_sketchc" -type f -not -path "$app_sketchc/docs/*" -not -name "*.map" -not -name "*.d.ts" >>"$keep"
find node_modules/webgpu/dist/linux-x64 -type f >>"$keep"
mkdir "$stage/pruned"
sort -u "$keep" | tar -cf - -T - | tar -xf - -C "$stage/pruned"
echo "gpu-bundle: node_modules $(du -sm node_modules | cut -f1) MiB, pruned to $(du -sm "$stage/pruned" | cut -f1) MiB"

# 3. The bundle.
rm -rf "$out"
mkdir -p "$out/xz"
mv "$stage/pruned" "$stage/bundle-app"
tar -C "$stage" --transform 's|^bundle-app|app|' -cf - bundle-app | xz -T0 -6 >"$out/app.tar.xz"
echo "gpu-bundle: compressing node $(node --version)"
xz -T0 -6 -c "$(command -v node)" >"$out/node.xz"
cp "$(command -v xz)" "$out/xz/xz"
cp -L "$(ldd "$(command -v xz)" | awk '/liblzma/ {print $3}')" "$out/xz/liblzma.so.5"
node --version >"$out/NODE_VERSION"
echo "gpu-bundle: wrote $out ($(du -sm "$out" | cut -f1) MiB)"
