// Joins the columns of `bash bench/run.sh` into one table: per workload the median (min, max)
// seconds per step of each side on 1 core and on 2 cores (every step of every round), the ratios
// of sketchc to the strong PyTorch peer and to the plain reference at equal cores, and what each
// column ran on (threads, cores, OPENBLAS_CORETYPE, the OpenBLAS kernels). Prints the markdown and
// writes bench/results/training-step.{json,md}.
//
//   node dist-bench/bench/report.js --input sketchc,1,A.json --input fast,1,B.json ... \
//     [--command "bash bench/run.sh"] [--out-dir bench/results]
//
// An input is SIDE,CORES,FILE with SIDE one of sketchc, fast (bench/reference/roap_fast.py) or
// reference (bench/reference/roap_reference.py); the files of one SIDE,CORES are that column's
// rounds, in order.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

import { median, type ComponentTimes, type SideResult } from "./common.js";

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

const SIDES = ["sketchc", "fast", "reference"] as const;
type Side = (typeof SIDES)[number];
const SIDE_NAMES: Record<Side, string> = {
  sketchc: "sketchc",
  fast: "PyTorch strong",
  reference: "PyTorch plain",
};

/** One column: a side on a number of cores, its rounds. */
interface Column {
  readonly key: string;
  readonly side: Side;
  readonly cores: number;
  readonly name: string;
  readonly rounds: SideResult[];
}

/** The PyTorch row a sketchc row is compared with: both interpreters run against the one peer. */
const peerOf = (id: string): string =>
  id.startsWith("interpreter") ? "interpreter" : id;

const ms = (s: number): string =>
  s * 1e3 >= 100 ? (s * 1e3).toFixed(0) : (s * 1e3).toFixed(1);
const cell = (x: Stats | undefined): string =>
  x ? `${ms(x.median)} (${ms(x.min)}–${ms(x.max)})` : "–";
const times = (x: number | undefined): string =>
  x !== undefined && Number.isFinite(x) ? `${x.toFixed(2)}×` : "–";

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

/** The seconds of one workload over all rounds of a column. */
function rowStats(col: Column | undefined, id: string): Stats | undefined {
  if (col === undefined) return undefined;
  const seconds = col.rounds.flatMap(
    (r) => r.rows.find((x) => x.id === id)?.seconds ?? [],
  );
  return seconds.length > 0 ? stats(seconds) : undefined;
}

/** The forward + backward seconds of one component over all rounds of a column. */
function profileStats(
  col: Column | undefined,
  name: string,
  which: "forward" | "forwardBackward",
): Stats | undefined {
  if (col === undefined) return undefined;
  const seconds = col.rounds.flatMap(
    (r) =>
      r.profile.find((x: ComponentTimes) => x.name === name)?.[which] ?? [],
  );
  return seconds.length > 0 ? stats(seconds) : undefined;
}

/** What a column ran on, from its first round (the settings are the same in every round). */
function describe(col: Column): Record<string, unknown> {
  const first = col.rounds[0];
  const openblas = first.openblas as Record<string, unknown> | undefined;
  const fromBackend =
    /OpenBLAS ([\d.]+), (\S+) kernels, (\d+) (?:BLAS )?threads?(?:, (\d+) kernel threads?)?/.exec(
      String(first.backend ?? ""),
    );
  return {
    side: col.side,
    cores: col.cores,
    env: first.env,
    ...(col.side === "sketchc"
      ? {
          backend: first.backend,
          tfjs: first.tfjs,
          node: first.node,
          fusedInterpreterInTrainStep: first.fusedInterpreterInTrainStep,
          openblasCore: fromBackend?.[2] ?? null,
          openblasThreads: fromBackend !== null ? Number(fromBackend[3]) : null,
          kernelThreads:
            fromBackend?.[4] !== undefined ? Number(fromBackend[4]) : null,
        }
      : {
          torch: first.torch,
          python: first.python,
          torchThreads: first.threads,
          workers: first.workers ?? 1,
          blas: first.blas,
          openblasCore: openblas?.core ?? null,
          openblasConfig: openblas?.config ?? null,
          openblasThreads: openblas?.threads ?? null,
          matmul1024GFlops: col.rounds.map((r) => r.matmul1024GFlops),
        }),
    loadAvg: col.rounds.map((r) => r.loadAvg),
  };
}

function fmtLoad(load: unknown): string {
  const pair = load as { start?: number; end?: number } | undefined;
  return pair?.start !== undefined
    ? `${pair.start.toFixed(1)}–${(pair.end ?? NaN).toFixed(1)}`
    : "?";
}

function main(): void {
  const { values } = parseArgs({
    options: {
      input: { type: "string", multiple: true },
      command: { type: "string", default: "bash bench/run.sh" },
      "out-dir": { type: "string", default: "bench/results" },
    },
  });
  const usage =
    "usage: report --input SIDE,CORES,FILE ... [--command TEXT] [--out-dir DIR]";
  const columns: Column[] = [];
  for (const spec of values.input ?? []) {
    const [side, coresText, ...file] = spec.split(",");
    if (!SIDES.includes(side as Side) || file.length === 0) {
      throw new Error(`${usage}\n  bad --input ${spec}`);
    }
    const cores = Number(coresText);
    const key = `${side}-${cores}c`;
    let col = columns.find((c) => c.key === key);
    if (col === undefined) {
      col = {
        key,
        side: side as Side,
        cores,
        name: `${SIDE_NAMES[side as Side]}, ${cores} core${cores === 1 ? "" : "s"}`,
        rounds: [],
      };
      columns.push(col);
    }
    col.rounds.push(
      JSON.parse(fs.readFileSync(file.join(","), "utf8")) as SideResult,
    );
  }
  const sketchcCols = columns.filter((c) => c.side === "sketchc");
  if (sketchcCols.length === 0) throw new Error(`${usage}\n  no sketchc input`);
  // Columns by cores, then side.
  columns.sort(
    (a, b) =>
      a.cores - b.cores || SIDES.indexOf(a.side) - SIDES.indexOf(b.side),
  );
  const coreCounts = [...new Set(columns.map((c) => c.cores))];
  const col = (side: Side, cores: number) =>
    columns.find((c) => c.side === side && c.cores === cores);

  const ts = sketchcCols[0].rounds[0];
  const rounds = Math.max(...columns.map((c) => c.rounds.length));
  const rows = ts.rows.map((r) => {
    const cells: Record<string, Stats | undefined> = {};
    const ratios: Record<string, number | undefined> = {};
    for (const c of columns) {
      cells[c.key] = rowStats(c, c.side === "sketchc" ? r.id : peerOf(r.id));
    }
    for (const cores of coreCounts) {
      const a = cells[`sketchc-${cores}c`]?.median;
      for (const peer of ["fast", "reference"] as const) {
        const b = cells[`${peer}-${cores}c`]?.median;
        ratios[`sketchc/${peer}-${cores}c`] =
          a !== undefined && b !== undefined ? a / b : undefined;
      }
    }
    return { id: r.id, label: r.label, cells, ratios };
  });
  const profile = ts.profile.map((p) => ({
    name: p.name,
    cells: Object.fromEntries(
      columns.map((c) => {
        const name = c.side === "sketchc" ? p.name : peerOf(p.name);
        return [
          c.key,
          {
            forward: profileStats(c, name, "forward"),
            forwardBackward: profileStats(c, name, "forwardBackward"),
          },
        ];
      }),
    ),
  }));
  // Per round, the median of the full step: drift in the load shows here.
  const perRound = columns.map((c) => ({
    key: c.key,
    roap: c.rounds.map((r) => {
      const s = r.rows.find((x) => x.id === "roap")?.seconds;
      return s && s.length > 0 ? median(s) : undefined;
    }),
  }));
  const kernelSource =
    col("sketchc", Math.max(...coreCounts)) ?? sketchcCols[0];
  const kernels = kernelSource.rounds[0].kernels ?? [];
  const kernelTotal = kernels.reduce((n, k) => n + k.ms, 0);

  const m = machine();
  const columnInfo = Object.fromEntries(
    columns.map((c) => [c.key, describe(c)]),
  );
  const result = {
    date: new Date().toISOString(),
    command: values.command,
    rounds,
    warmup: ts.warmup,
    stepsPerRound: ts.steps,
    machine: m,
    openblasCoretypeEnv: process.env.OPENBLAS_CORETYPE ?? null,
    columns: columnInfo,
    rows,
    perRound,
    profile,
    kernels,
  };

  const roap = rows.find((r) => r.id === "roap");
  const target = (() => {
    const two = roap?.ratios["sketchc/fast-2c"];
    return two === undefined
      ? "the 2-core full step was not measured"
      : `full ROAP step on 2 cores: sketchc / PyTorch strong = ${times(two)} ` +
          `(target <= 2.00×: ${two <= 2 ? "met" : "not met"})`;
  })();
  const settings = (c: Column) => {
    const d = columnInfo[c.key] as Record<string, unknown>;
    const env = (d.env ?? {}) as Record<string, unknown>;
    const threads =
      c.side === "sketchc"
        ? `wasm 1 thread, OpenBLAS ${String(d.openblasThreads ?? "?")}` +
          (d.kernelThreads === null || d.kernelThreads === undefined
            ? ""
            : `, kernels ${String(d.kernelThreads)}`)
        : `torch ${String(d.torchThreads)} thread${d.torchThreads === 1 ? "" : "s"}` +
          `, ${String(d.workers)} worker${d.workers === 1 ? "" : "s"}, OpenBLAS ${String(d.openblasThreads ?? "?")}`;
    return (
      `| ${c.name} | ${String(env.cpusAllowed ?? "?")} | ${String(env.OPENBLAS_NUM_THREADS ?? "–")} | ` +
      `${String(env.OMP_NUM_THREADS ?? "–")} | ${threads} | ${String(env.OPENBLAS_CORETYPE ?? "(unset)")} | ` +
      `${String(d.openblasCore ?? "?")} | ${c.rounds.map((r) => fmtLoad(r.loadAvg)).join(", ")} |`
    );
  };
  const fast = columns.find((c) => c.side !== "sketchc")?.rounds[0];
  const fastBlas = fast?.openblas as Record<string, unknown> | undefined;
  const ratioCols = coreCounts.flatMap((cores) =>
    (["fast", "reference"] as const)
      .filter((peer) => col(peer, cores) !== undefined)
      .map((peer) => ({
        key: `sketchc/${peer}-${cores}c`,
        name: `sketchc / ${SIDE_NAMES[peer]}, ${cores} core${cores === 1 ? "" : "s"}`,
      })),
  );
  const lines = [
    "# Training step: sketchc vs PyTorch",
    "",
    `Generated by \`${values.command}\` on ${result.date.slice(0, 10)}. Milliseconds per step of forward + backward + Adam, ` +
      `median (min–max) over ${rounds} interleaved rounds × ${ts.steps} steps after ${ts.warmup} warm-ups ` +
      `(each column a process of its own, pinned with taskset). PyTorch strong: bench/reference/roap_fast.py ` +
      `(checked against the plain reference by \`roap_fast.py --check\`); PyTorch plain: bench/reference/roap_reference.py.`,
    "",
    `- Machine: ${String(m.cpu)}, ${String(m.cores)} cores, ${String(m.memoryGiB)} GiB, ${String(m.os)}`,
    `- sketchc: ${String(ts.backend)}, TF.js ${String(ts.tfjs)}, Node ${String(ts.node)}` +
      (ts.fusedInterpreterInTrainStep
        ? "; the full step runs the fused interpreter"
        : ""),
    `- PyTorch: ${String(fast?.torch ?? "?")} (Python ${String(fast?.python ?? "?")}), ${String(fastBlas?.config ?? "OpenBLAS ?")}`,
    `- ${target}`,
    "",
    "## Columns",
    "",
    "| Column | cores (taskset) | OPENBLAS_NUM_THREADS | OMP_NUM_THREADS | threads | OPENBLAS_CORETYPE | OpenBLAS kernels | load avg per round |",
    "| --- | --- | ---: | ---: | --- | --- | --- | --- |",
    ...columns.map(settings),
    "",
    "## Milliseconds per step",
    "",
    `| Workload |${columns.map((c) => ` ${c.name} |`).join("")}`,
    `| --- |${columns.map(() => " ---: |").join("")}`,
    ...rows.map(
      (r) =>
        `| ${r.label} |${columns.map((c) => ` ${cell(r.cells[c.key])} |`).join("")}`,
    ),
    "",
    "## Ratios at equal cores (medians)",
    "",
    `| Workload |${ratioCols.map((c) => ` ${c.name} |`).join("")}`,
    `| --- |${ratioCols.map(() => " ---: |").join("")}`,
    ...rows.map(
      (r) =>
        `| ${r.label} |${ratioCols.map((c) => ` ${times(r.ratios[c.key])} |`).join("")}`,
    ),
    "",
    "## Full ROAP step per round (median ms of the round)",
    "",
    `| Column |${Array.from({ length: rounds }, (_, i) => ` round ${i + 1} |`).join("")}`,
    `| --- |${Array.from({ length: rounds }, () => " ---: |").join("")}`,
    ...columns.map((c) => {
      const entry = perRound.find((p) => p.key === c.key)!;
      return `| ${c.name} |${Array.from({ length: rounds }, (_, i) => ` ${entry.roap[i] !== undefined ? ms(entry.roap[i]!) : "–"} |`).join("")}`;
    }),
    "",
    "## Profile: forward + backward per component (no optimizer), median ms",
    "",
    `| Component |${columns.map((c) => ` ${c.name} |`).join("")}`,
    `| --- |${columns.map(() => " ---: |").join("")}`,
    ...profile.map(
      (p) =>
        `| ${p.name} |${columns
          .map((c) => {
            const s = p.cells[c.key]?.forwardBackward;
            return ` ${s ? ms(s.median) : "–"} |`;
          })
          .join("")}`,
    ),
    "",
    `## sketchc kernels of one full ROAP step, ${kernelSource.name} (tf.profile, ${kernelTotal.toFixed(0)} ms of kernel time in all)`,
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

main();
