// The README's import example in fresh projects, with sketchc installed from its packed tarball: a
// CommonJS project (`npm init -y`) and an ES module project compile arith.sketch with `npx sketchc`,
// run the example, and type-check the module against the installed package's declarations. One
// test (30-80 s): the tarball is packed from a copy of the package, with the checkout's dist/ when
// it is fresh and a build into the copy otherwise, so dist/ is never rebuilt under other tests; npm
// installs the tarball's dependencies, from its cache where it can.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../compiler/compile.js";

const exec = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-package-"));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs a command in `cwd`; returns stdout and stderr together. */
async function run(cwd: string, file: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await exec(file, args, {
    cwd,
    maxBuffer: 16 << 20,
  });
  return stdout + stderr;
}

/** The README's example: the js block after "A plain Node script can import the module". */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(PACKAGE_ROOT, "README.md"), "utf8");
  const after = readme.slice(
    readme.indexOf("A plain Node script can import the module"),
  );
  const block = /```js\n([\s\S]*?)```/.exec(after);
  if (!block) throw new Error("README.md has no import example");
  return block[1];
}

const TSC = path.join(PACKAGE_ROOT, "node_modules", "typescript", "bin", "tsc");

/** Whether the checkout's dist/ is newer than every source it is built from. */
function distIsFresh(): boolean {
  const built = path.join(PACKAGE_ROOT, "dist", "cli", "main.js");
  if (!fs.existsSync(built)) return false;
  const since = fs.statSync(built).mtimeMs;
  return ["grammar", "compiler", "runtime", "cli"].every((folder) =>
    (
      fs.readdirSync(path.join(PACKAGE_ROOT, folder), {
        recursive: true,
      }) as string[]
    )
      .filter((f) => f.endsWith(".ts"))
      .every(
        (f) => fs.statSync(path.join(PACKAGE_ROOT, folder, f)).mtimeMs <= since,
      ),
  );
}

/** `npm pack` of a copy of the package (its `files`, package.json, README) with a fresh dist/. */
async function pack(): Promise<string> {
  const copy = path.join(dir, "package");
  const manifest = JSON.parse(
    fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8"),
  ) as { files: string[] };
  for (const entry of [...manifest.files, "package.json", "README.md"]) {
    const from = path.join(PACKAGE_ROOT, entry);
    if (entry !== "dist" && fs.existsSync(from))
      fs.cpSync(from, path.join(copy, entry), { recursive: true });
  }
  if (distIsFresh())
    fs.cpSync(path.join(PACKAGE_ROOT, "dist"), path.join(copy, "dist"), {
      recursive: true,
    });
  else
    await run(PACKAGE_ROOT, process.execPath, [
      TSC,
      "-p",
      "tsconfig.build.json",
      "--outDir",
      path.join(copy, "dist"),
    ]);
  await run(copy, "npm", [
    "pack",
    "--ignore-scripts",
    "--pack-destination",
    dir,
  ]);
  const [tarball] = fs.readdirSync(dir).filter((f) => f.endsWith(".tgz"));
  return path.join(dir, tarball);
}

/** The tarball, packed once for both tests. */
let packed: Promise<string> | undefined;
const tarballOf = () => (packed ??= pack());

it("the README's example runs in fresh CommonJS and ES module projects with sketchc from its tarball", async () => {
  const tarball = await tarballOf();
  const cjs = path.join(dir, "cjs");
  const esm = path.join(dir, "esm");
  fs.mkdirSync(cjs);
  await run(cjs, "npm", ["init", "-y"]);
  expect(
    JSON.parse(fs.readFileSync(path.join(cjs, "package.json"), "utf8")).type ??
      "commonjs",
  ).toBe("commonjs");
  await run(cjs, "npm", [
    "install",
    tarball,
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
  ]);
  // The ES module project shares the CommonJS one's node_modules: one install for both.
  fs.mkdirSync(esm);
  fs.writeFileSync(
    path.join(esm, "package.json"),
    JSON.stringify({ name: "esm", version: "1.0.0", type: "module" }),
  );
  fs.symlinkSync(
    path.join(cjs, "node_modules"),
    path.join(esm, "node_modules"),
  );

  expect(await run(cjs, "npx", ["sketchc", "--version"])).toContain(
    JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8"))
      .version,
  );
  const example = readmeExample();
  const expected = [
    "// y = (s1 + s3) * (s1 - s3)",
    "[[-0.08],]",
    "\n-0.08\n",
    "3 3",
  ];
  for (const [project, script] of [
    [cjs, "main.mjs"], // a CommonJS project runs an ES module script as .mjs
    [esm, "main.js"],
  ] as const) {
    fs.copyFileSync(
      path.join(PACKAGE_ROOT, "sketches", "arith.sketch"),
      path.join(project, "arith.sketch"),
    );
    const compiled = await run(project, "npx", [
      "sketchc",
      "arith.sketch",
      "-o",
      "gen/",
    ]);
    expect(compiled).toContain("gen/arith.mjs");
    fs.writeFileSync(path.join(project, script), example);
    const output = await run(project, process.execPath, [script]);
    for (const line of expected) expect(output, project).toContain(line);
  }

  // A CommonJS script imports the module with import().
  fs.writeFileSync(
    path.join(cjs, "main.cjs"),
    'import("./gen/arith.mjs").then((m) => console.log(m.sketch.name, m.NUM_LINES));\n',
  );
  expect(await run(cjs, process.execPath, ["main.cjs"])).toContain("arith 30");

  // TypeScript resolves sketchc/module-runtime to the installed package's declarations.
  const tsc = path.join(
    PACKAGE_ROOT,
    "node_modules",
    "typescript",
    "bin",
    "tsc",
  );
  await run(esm, process.execPath, [
    tsc,
    "--noEmit",
    "--strict",
    "--target",
    "es2022",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--skipLibCheck",
    "gen/arith.mts",
  ]);
}, 300_000);

/** Whether Dawn finds a WebGPU adapter in `project` (a Vulkan driver: a GPU's, or lavapipe's). */
async function hasAdapter(project: string): Promise<boolean> {
  const probe =
    'const { create, globals } = await import("webgpu"); Object.assign(globalThis, globals);' +
    'console.log((await create([]).requestAdapter()) ? "adapter: yes" : "adapter: no");';
  const output = await run(project, process.execPath, [
    "--input-type=module",
    "-e",
    probe,
  ]);
  return output.includes("adapter: yes");
}

/** `npx ARGS` in `project`, failing: its stderr. */
async function runFailing(project: string, args: string[]): Promise<string> {
  const error = await exec("npx", args, { cwd: project }).then(
    () => undefined,
    (e: { stderr?: string }) => e,
  );
  expect(error, `npx ${args.join(" ")} should fail`).toBeDefined();
  return error!.stderr ?? "";
}

it("trains on webgpu where the webgpu packages are installed next to sketchc, as docs/backends.md says", async () => {
  const tarball = await tarballOf();
  const project = path.join(dir, "webgpu");
  fs.mkdirSync(project);
  await run(project, "npm", ["init", "-y"]);
  await run(project, "npm", [
    "install",
    tarball,
    "@tensorflow/tfjs-backend-webgpu@4.22.0",
    "webgpu@0.6.2",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
  ]);
  const train = (preset: string) => [
    "sketchc",
    "train",
    path.join(PACKAGE_ROOT, "sketches", "arith.sketch"),
    "--backend",
    "webgpu",
    "--preset",
    preset,
    ...["--tasks", "2", "--epochs", "1", "--steps", "1", "--batch", "2"],
    ...["--train-pairs", "16", "--test-pairs", "4", "--held-out-tasks", "0"],
    ...["--generalization-tasks", "0", "--out", "run"],
  ];
  if (await hasAdapter(project)) {
    await run(project, "npx", train("paper"));
    const metrics = JSON.parse(
      fs.readFileSync(path.join(project, "run", "metrics.json"), "utf8"),
    ) as { backend: string; symbolicLoss: number };
    expect(metrics.backend).toMatch(/^webgpu/);
    expect(Number.isFinite(metrics.symbolicLoss)).toBe(true);
    // The cpu preset's program memory reads tensors within a step: one line, before any step.
    const stderr = await runFailing(project, train("cpu"));
    expect(stderr).toMatch(
      /^sketchc: error: backend 'webgpu' reads tensors only asynchronously.*--imitation 0/m,
    );
    expect(stderr).not.toMatch(/^\s+at .*\.c?js:\d+/m); // Dawn prints native frames
  } else {
    // No Vulkan driver: one line that says the backend did not start, no stack trace.
    const stderr = await runFailing(project, train("paper"));
    expect(stderr).toMatch(
      /^sketchc: error: backend 'webgpu' found no WebGPU adapter/m,
    );
    expect(stderr).not.toMatch(/^\s+at .*\.c?js:\d+/m); // Dawn prints native frames
  }
}, 300_000);
