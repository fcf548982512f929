// Joins the two sides of `bash bench/run.sh` into one table: per workload the median (min, max)
// seconds per step of sketchc and of the PyTorch reference and the ratio sketchc / PyTorch.
// Prints it and writes bench/results/training-step.{json,md}.
//
//   node dist-bench/bench/report.js --sketchc A.json --pytorch B.json --out-dir bench/results

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

import { median, type SideResult } from "./common.js";

interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly seconds: readonly number[];
}

const stats = (seconds: readonly number[]): Stats => ({
  median: median(seconds),
  min: Math.min(...seconds),
  max: Math.max(...seconds),
  seconds,
});

/** The PyTorch row a sketchc row is compared with: both interpreters run against the one reference. */
const peerOf = (id: string): string =>
  id.startsWith("interpreter") ? "interpreter" : id;

const ms = (s: number): string =>
  s * 1e3 >= 100 ? (s * 1e3).toFixed(0) : (s * 1e3).toFixed(1);
const cell = (x: Stats | undefined): string =>
  x ? `${ms(x.median)} (${ms(x.min)}–${ms(x.max)})` : "–";
const ratio = (a: number | undefined, b: number | undefined): string =>
  a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : "–";

function readSide(file: string): SideResult {
  return JSON.parse(fs.readFileSync(file, "utf8")) as SideResult;
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  let cpuModel = cpus[0]?.model ?? "unknown";
  try {
    // Family, model and SIMD flags: under KVM the model name can be as terse as "AMD EPYC".
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    const field = (name: string) =>
      new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(info)?.[1];
    const flags = field("flags")?.split(" ") ?? [];
    cpuModel += `, family ${field("cpu family") ?? "?"} model ${field("model") ?? "?"}`;
    const simd = ["avx2", "avx512f"].filter((f) => flags.includes(f));
    if (simd.length > 0) cpuModel += ` (${simd.join(", ")})`;
  } catch {
    // not Linux
  }
  return {
    cpu: cpuModel,
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** A PyTorch run the sketchc rows are compared with. */
interface Reference {
  readonly key: string;
  readonly name: string;
  readonly side: SideResult;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      sketchc: { type: "string" },
      pytorch: { type: "string" },
      /** Optional: the reference again with 1 thread, the thread count of sketchc's wasm backend. */
      "pytorch-1t": { type: "string" },
      "out-dir": { type: "string", default: "bench/results" },
    },
  });
  if (values.sketchc === undefined || values.pytorch === undefined) {
    throw new Error(
      "usage: report --sketchc FILE --pytorch FILE [--pytorch-1t FILE] [--out-dir DIR]",
    );
  }
  const ts = readSide(values.sketchc);
  const py = readSide(values.pytorch);
  const refs: Reference[] = [
    {
      key: "pytorch",
      name: `PyTorch, ${String(py.threads)} threads`,
      side: py,
    },
  ];
  if (values["pytorch-1t"] !== undefined) {
    const side = readSide(values["pytorch-1t"]);
    refs.push({
      key: "pytorch1Thread",
      name: `PyTorch, ${String(side.threads)} thread`,
      side,
    });
  }

  const rows = ts.rows.map((r) => {
    const a = stats(r.seconds);
    const row: Record<string, unknown> = {
      id: r.id,
      label: r.label,
      sketchc: a,
    };
    for (const ref of refs) {
      const peer = ref.side.rows.find((x) => x.id === peerOf(r.id));
      row[ref.key] = peer ? stats(peer.seconds) : undefined;
      row[`${ref.key}Ratio`] = peer
        ? a.median / stats(peer.seconds).median
        : undefined;
    }
    return row as { id: string; label: string; sketchc: Stats } & Record<
      string,
      Stats | number | undefined
    >;
  });
  const both = (c: { forward: number[]; forwardBackward: number[] }) => ({
    forward: stats(c.forward),
    forwardBackward: stats(c.forwardBackward),
  });
  type Both = ReturnType<typeof both>;
  const profile = ts.profile.map((c) => {
    const entry: Record<string, unknown> = { name: c.name, sketchc: both(c) };
    for (const ref of refs) {
      const peer = ref.side.profile.find((x) => x.name === peerOf(c.name));
      entry[ref.key] = peer ? both(peer) : undefined;
    }
    return entry as { name: string; sketchc: Both } & Record<
      string,
      Both | undefined
    >;
  });
  const kernels = ts.kernels ?? [];
  const kernelTotal = kernels.reduce((n, k) => n + k.ms, 0);

  const env = {
    machine: machine(),
    sketchc: {
      backend: ts.backend,
      tfjs: ts.tfjs,
      node: ts.node,
      fusedInterpreterInTrainStep: ts.fusedInterpreterInTrainStep,
      loadAvg: ts.loadAvg,
    },
    ...Object.fromEntries(
      refs.map((ref) => [
        ref.key,
        {
          torch: ref.side.torch,
          python: ref.side.python,
          threads: ref.side.threads,
          blas: ref.side.blas,
          matmul1024GFlops: ref.side.matmul1024GFlops,
          loadAvg: ref.side.loadAvg,
        },
      ]),
    ),
  };
  const result = {
    date: new Date().toISOString(),
    command: "bash bench/run.sh",
    warmup: ts.warmup,
    steps: ts.steps,
    ...env,
    rows,
    profile,
    kernels,
  };

  const m = env.machine;
  const blas = ((py.blas as string[] | undefined) ?? [])
    .map((b) => `${path.basename(path.dirname(b))}/${path.basename(b)}`)
    .find((b) => b.includes("openblas"));
  const gflops = refs.map(
    (r) =>
      `${Number(r.side.matmul1024GFlops).toFixed(0)} (${String(r.side.threads)} thr)`,
  );
  const load = [
    `sketchc ${fmtLoad(ts.loadAvg)}`,
    ...refs.map((r) => `${r.name} ${fmtLoad(r.side.loadAvg)}`),
  ];
  const ratio1 = (r: (typeof rows)[number], ref: Reference) => {
    const x = r[`${ref.key}Ratio`];
    return typeof x === "number" ? `${x.toFixed(2)}×` : "–";
  };
  const fb = (b: Both | undefined, which: "forward" | "forwardBackward") =>
    b ? ms(b[which].median) : "–";
  const lines = [
    "# Training step: sketchc vs PyTorch",
    "",
    `Generated by \`bash bench/run.sh\` on ${result.date.slice(0, 10)}. Seconds per step of forward + backward + Adam, ` +
      `median (min–max) in ms over ${ts.steps} steps after ${ts.warmup} warm-ups; each side in its own process.`,
    "",
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`,
    `- sketchc: ${String(ts.backend)}, TF.js ${String(ts.tfjs)}, Node ${String(ts.node)}` +
      (ts.fusedInterpreterInTrainStep
        ? "; the full step runs the fused interpreter"
        : ""),
    `- PyTorch: ${String(py.torch)} (Python ${String(py.python)}), BLAS ${blas ?? "?"}, ` +
      `1024×1024 matmul GFLOP/s ${gflops.join(", ")}`,
    `- Load average (1 min) at start / end: ${load.join("; ")}`,
    "",
    `| Workload | sketchc ms |${refs.map((r) => ` ${r.name}, ms | sketchc / ${r.name} |`).join("")}`,
    `| --- | ---: |${refs.map(() => " ---: | ---: |").join("")}`,
    ...rows.map(
      (r) =>
        `| ${r.label} | ${cell(r.sketchc)} |` +
        refs
          .map(
            (ref) =>
              ` ${cell(r[ref.key] as Stats | undefined)} | ${ratio1(r, ref)} |`,
          )
          .join(""),
    ),
    "",
    "## Profile: forward and forward + backward per component (no optimizer), median ms",
    "",
    `| Component | sketchc fwd | sketchc fwd+bwd |${refs.map((r) => ` ${r.name}: fwd | fwd+bwd | ratio fwd+bwd |`).join("")}`,
    `| --- | ---: | ---: |${refs.map(() => " ---: | ---: | ---: |").join("")}`,
    ...profile.map(
      (c) =>
        `| ${c.name} | ${fb(c.sketchc, "forward")} | ${fb(c.sketchc, "forwardBackward")} |` +
        refs
          .map((ref) => {
            const peer = c[ref.key];
            return (
              ` ${fb(peer, "forward")} | ${fb(peer, "forwardBackward")} | ` +
              `${ratio(c.sketchc.forwardBackward.median, peer?.forwardBackward.median)} |`
            );
          })
          .join(""),
    ),
    "",
    `## sketchc kernels of one full ROAP step (tf.profile, ${kernelTotal.toFixed(0)} ms of kernel time in all)`,
    "",
    "| Kernel | calls | ms | share |",
    "| --- | ---: | ---: | ---: |",
    ...kernels
      .slice(0, 12)
      .map(
        (k) =>
          `| ${k.name} | ${k.calls} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / kernelTotal).toFixed(1)}% |`,
      ),
    "",
  ];
  const md = lines.join("\n");
  fs.mkdirSync(values["out-dir"], { recursive: true });
  fs.writeFileSync(
    path.join(values["out-dir"], "training-step.json"),
    JSON.stringify(result, null, 2) + "\n",
  );
  fs.writeFileSync(path.join(values["out-dir"], "training-step.md"), md);
  console.log("\n" + md);
}

function fmtLoad(load: unknown): string {
  const pair = load as { start?: number; end?: number } | undefined;
  return pair?.start !== undefined
    ? `${pair.start.toFixed(2)} / ${(pair.end ?? NaN).toFixed(2)}`
    : "?";
}

main();
