// Builds sketchc's optional native kernels addon (native/blas.cc -> native/build/sketchc_blas.node)
// with the system C++ compiler and Node's own headers. Run by `npm install`; never fails the
// install: without a compiler or headers it prints one line, and training runs on wasm alone.
//
//   node native/build.mjs [--quiet]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(here, "blas.cc");
const outDir = path.join(here, "build");
const target = path.join(outDir, "sketchc_blas.node");

/** Where this Node's headers are: next to the binary (Debian, nodesource, nvm, official tarballs). */
function headerDir() {
  const candidates = [
    process.env.SKETCHC_NODE_HEADERS,
    path.join(path.dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ].filter(Boolean);
  return candidates.find((dir) => existsSync(path.join(dir, "node_api.h")));
}

function main() {
  if (process.env.SKETCHC_NATIVE === "0") return "skipped (SKETCHC_NATIVE=0)";
  if (process.platform !== "linux" && process.platform !== "darwin")
    return `skipped (no build for ${process.platform})`;
  const include = headerDir();
  if (include === undefined)
    return "skipped: Node's headers (node_api.h) not found; set SKETCHC_NODE_HEADERS";
  const compiler = process.env.CXX || "c++";
  mkdirSync(outDir, { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  const flags = [
    "-O2",
    // No fused multiply-adds: the interpreter's loops must give JavaScript's bits exactly.
    "-ffp-contract=off",
    "-std=c++17",
    "-shared",
    "-fPIC",
    "-fvisibility=hidden",
    "-DNODE_GYP_MODULE_NAME=sketchc_blas",
    "-DNAPI_VERSION=8",
    `-I${include}`,
    source,
    "-o",
    temp,
  ];
  if (process.platform === "darwin") flags.push("-undefined", "dynamic_lookup");
  else flags.push("-ldl");
  try {
    execFileSync(compiler, flags, { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    const reason =
      error.code === "ENOENT"
        ? `no C++ compiler '${compiler}'`
        : `${compiler} failed`;
    const detail = String(error.stderr ?? "").split("\n")[0];
    return `skipped: ${reason}${detail ? `: ${detail}` : ""}`;
  }
  return `built ${path.relative(process.cwd(), target) || target}`;
}

const outcome = main();
if (!process.argv.includes("--quiet") || outcome.startsWith("skipped:"))
  console.log(
    `sketchc: native kernels ${outcome}` +
      (outcome.startsWith("skipped") ? " (training runs on wasm alone)" : ""),
  );
