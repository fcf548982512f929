// `sketchc report DIR`: DIR/report.md, DIR/report.html and DIR/results.json from an experiment
// folder (experiment.json and runs/*/metrics.json, log.jsonl) or a single train run folder. Every
// table cell names the run it came from; the paper's numbers sit in their own columns; figures
// are Vega-Lite specs rendered to SVG on the server (vega's View.toSVG).

import * as fs from "node:fs";
import * as path from "node:path";
import * as vega from "vega";
import * as vl from "vega-lite";
import {
  FIG5_SKETCHES,
  type ExperimentName,
  type ExperimentPreset,
  type RunSpec,
} from "./plan.js";
import { writeFileAtomic } from "../../util/files.js";

/** Table 1's rows whose runs train a sketch with the method's own flags (Fig. 5's sketches). */
const FIG5_ROWS = new Set([
  "ROAP (our model)",
  "w/ Syntax-Tree",
  "w/ depth=10",
  "w/ depth=3",
]);

/** What `sketchc experiment` writes to DIR/experiment.json. */
export interface ExperimentRecord {
  readonly experiment: ExperimentName;
  readonly preset: ExperimentPreset;
  readonly runs: readonly RunSpec[];
}

/** One cell: the value, the run folder it came from, and over the row's runs mean and spread. */
export interface Cell {
  readonly value: number | null;
  readonly run: string | null;
  readonly mean?: number;
  readonly std?: number;
  readonly n?: number;
}

export interface Table {
  readonly title: string;
  readonly note: string;
  readonly columns: readonly { readonly key: string; readonly label: string }[];
  readonly rows: readonly {
    readonly label: string;
    readonly cells: Readonly<Record<string, Cell>>;
    /** The paper's value per column (its own column, never mixed with ours). */
    readonly paper: Readonly<Record<string, string>>;
  }[];
}

export interface Results {
  readonly source: string;
  readonly experiment: string;
  readonly preset: string | null;
  readonly tables: readonly Table[];
  readonly figures: readonly { readonly title: string; readonly svg: string }[];
}

/** Table 1 and Table 2 of the paper. */
const PAPER_TABLE1: Record<string, Record<string, string>> = {
  "ROAP (our model)": {
    programSuccess: "459 / 500",
    symbolicLoss: "0.00086",
    testLoss: "0.11",
    generalizationLoss: "0.07",
  },
  "w/o program, i.e., CNN+MLP": {
    programSuccess: "0 / 500",
    symbolicLoss: "0.95",
    testLoss: "0.11",
    generalizationLoss: "1.03",
  },
  "w/o amortized inference": {
    programSuccess: "136 / 500",
    symbolicLoss: "0.059",
    testLoss: "0.20",
    generalizationLoss: "0.19",
  },
  "w/o gumbel-softmax": {
    programSuccess: "8 / 500",
    symbolicLoss: "0.52",
    testLoss: "0.33",
    generalizationLoss: "4.40",
  },
  "w/ Syntax-Tree": {
    programSuccess: "345 / 500",
    symbolicLoss: "0.04",
    testLoss: "0.16",
    generalizationLoss: "0.22",
  },
  "w/ depth=10": {
    programSuccess: "58 / 500",
    symbolicLoss: "0.90",
    testLoss: "0.14",
    generalizationLoss: "2.12",
  },
  "w/ depth=3": {
    programSuccess: "56 / 500",
    symbolicLoss: "1.10",
    testLoss: "0.16",
    generalizationLoss: "2.08",
  },
};
const PAPER_TABLE2: Record<string, Record<string, string>> = {
  many: { successRate: "33.3%", bestSymbolicLoss: "0.00086" },
  one: { successRate: "10.5%", bestSymbolicLoss: "0.039" },
};

/** Table 2's success: symbolic loss at most this. */
export const TABLE2_SUCCESS = 0.05;

type MetricsJson = Record<string, unknown> & {
  programSuccess: { count: number; total: number };
  foundProgramSuccess: { count: number };
  heldOutProgramSuccess?: { argmax: { count: number } };
  symbolicLoss: number;
  testLoss: number;
  generalizationLoss?: number;
  perTask?: { numOps: number | null; solved: boolean }[];
};

type LogRecord = Record<string, unknown> & {
  epoch: number;
  loss: number | null;
};

function readMetrics(folder: string): MetricsJson | undefined {
  const file = path.join(folder, "metrics.json");
  return fs.existsSync(file)
    ? JSON.parse(fs.readFileSync(file, "utf8"))
    : undefined;
}

function readLog(folder: string): LogRecord[] {
  const file = path.join(folder, "log.jsonl");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LogRecord];
      } catch {
        return [];
      }
    });
}

/** The training MSE a run is selected on: its final epoch's loss in log.jsonl (Infinity if none). */
export function trainingLoss(folder: string): number {
  const last = readLog(folder).at(-1);
  return typeof last?.loss === "number" ? last.loss : Infinity;
}

/** Table 1's metrics: the value of one column in a run's metrics.json. */
export const TABLE1_COLUMNS: readonly {
  key: string;
  label: string;
  of: (m: MetricsJson) => number | null;
}[] = [
  {
    key: "programSuccess",
    label: "program success",
    of: (m) => m.programSuccess.count,
  },
  {
    key: "foundProgramSuccess",
    label: "found",
    of: (m) => m.foundProgramSuccess.count,
  },
  {
    key: "heldOutProgramSuccess",
    label: "held-out",
    of: (m) => m.heldOutProgramSuccess?.argmax.count ?? null,
  },
  { key: "symbolicLoss", label: "symbolic loss", of: (m) => m.symbolicLoss },
  { key: "testLoss", label: "test loss", of: (m) => m.testLoss },
  {
    key: "generalizationLoss",
    label: "generalization loss",
    of: (m) => m.generalizationLoss ?? null,
  },
];

function meanStd(xs: readonly number[]): {
  mean: number;
  std: number;
  n: number;
} {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const std = Math.sqrt(
    xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n),
  );
  return { mean, std, n };
}

interface Finished {
  readonly spec: RunSpec;
  readonly folder: string;
  readonly rel: string;
  readonly metrics: MetricsJson;
}

function table1(runs: readonly Finished[], block?: string): Table {
  const groups = [...new Set(runs.map((r) => r.spec.group))];
  return {
    title: `Table 1: the model and its ablations${block ? `, ${block}` : ""}`,
    note: "Best run of each row (its variants and seeds) selected on the training loss of its final epoch, as the paper selects on training MSE; mean ± spread (standard deviation) over the row's runs beside it. Program success counts the argmax of q (the paper's); found and held-out are beside it.",
    columns: TABLE1_COLUMNS.map(({ key, label }) => ({ key, label })),
    rows: groups.map((group) => {
      const mine = runs.filter((r) => r.spec.group === group);
      const best = mine.reduce((a, b) =>
        trainingLoss(b.folder) < trainingLoss(a.folder) ? b : a,
      );
      const cells: Record<string, Cell> = {};
      for (const c of TABLE1_COLUMNS) {
        const values = mine
          .map((r) => c.of(r.metrics))
          .filter((v): v is number => v !== null);
        cells[c.key] = {
          value: c.of(best.metrics),
          run: best.rel,
          ...(values.length > 0 ? meanStd(values) : {}),
        };
      }
      return { label: group, cells, paper: PAPER_TABLE1[group] ?? {} };
    }),
  };
}

function table2(runs: readonly Finished[]): Table {
  const groups = [...new Set(runs.map((r) => r.spec.group))];
  return {
    title: "Table 2: one task versus many",
    note: `Success: symbolic loss <= ${TABLE2_SUCCESS}. Success rate over the runs of each setting (each seed draws its own tasks); best symbolic loss and the run it came from.`,
    columns: [
      { key: "successRate", label: "success rate" },
      { key: "bestSymbolicLoss", label: "best symbolic loss" },
    ],
    rows: groups.map((group) => {
      const mine = runs.filter((r) => r.spec.group === group);
      const best = mine.reduce((a, b) =>
        b.metrics.symbolicLoss < a.metrics.symbolicLoss ? b : a,
      );
      const ok = mine.filter(
        (r) => r.metrics.symbolicLoss <= TABLE2_SUCCESS,
      ).length;
      return {
        label: group,
        cells: {
          successRate: { value: ok / mine.length, run: null, n: mine.length },
          bestSymbolicLoss: { value: best.metrics.symbolicLoss, run: best.rel },
        },
        paper: PAPER_TABLE2[group === "1 task" ? "one" : "many"],
      };
    }),
  };
}

/** Every finished run of the experiment: what it measured and how long it took. */
function runsTable(runs: readonly Finished[]): Table {
  const of = (m: MetricsJson, key: string): number | null =>
    typeof m[key] === "number" ? (m[key] as number) : null;
  return {
    title: "The runs",
    note: "Each run's own metrics and its wall time (training and metrics, from its metrics.json).",
    columns: [
      { key: "programSuccess", label: "program success" },
      { key: "symbolicLoss", label: "symbolic loss" },
      { key: "wallSeconds", label: "wall (s)" },
    ],
    rows: runs.map((r) => ({
      label: r.spec.id,
      cells: {
        programSuccess: {
          value: r.metrics.programSuccess.count,
          run: r.rel,
        },
        symbolicLoss: { value: r.metrics.symbolicLoss, run: r.rel },
        wallSeconds: { value: of(r.metrics, "wallSeconds"), run: r.rel },
      },
      paper: {},
    })),
  };
}

/** Renders a Vega-Lite spec to SVG, on the server. */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), {
    renderer: "none",
  });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

async function fig5(
  runs: readonly Finished[],
  title = "Fig. 5",
  labelOf: (r: Finished) => string = (r) => r.spec.group,
): Promise<{ title: string; svg: string }> {
  const cells: {
    sketch: string;
    size: number;
    recovered: number;
    tasks: number;
  }[] = [];
  for (const group of [...new Set(runs.map(labelOf))]) {
    const bySize = new Map<number, { solved: number; total: number }>();
    for (const r of runs.filter((x) => labelOf(x) === group))
      for (const t of r.metrics.perTask ?? []) {
        if (t.numOps === null) continue;
        const c = bySize.get(t.numOps) ?? { solved: 0, total: 0 };
        c.total++;
        if (t.solved) c.solved++;
        bySize.set(t.numOps, c);
      }
    for (const [size, c] of bySize)
      cells.push({
        sketch: group,
        size,
        recovered: (100 * c.solved) / c.total,
        tasks: c.total,
      });
  }
  const svg = await renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `${title}: % of tasks recovered by gold program size`,
    data: { values: cells },
    width: 320,
    height: 200,
    encoding: {
      x: {
        field: "size",
        type: "ordinal",
        title: "gold program size (operators)",
      },
      y: { field: "sketch", type: "nominal", title: "sketch", sort: null },
    },
    layer: [
      {
        mark: "rect",
        encoding: {
          color: {
            field: "recovered",
            type: "quantitative",
            title: "% recovered",
            scale: { domain: [0, 100] },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          text: { field: "recovered", type: "quantitative", format: ".0f" },
        },
      },
    ],
  });
  return { title, svg };
}

async function curves(
  title: string,
  series: readonly { run: string; group: string; log: readonly LogRecord[] }[],
  fields: readonly { key: string; label: string }[],
): Promise<{ title: string; svg: string }[]> {
  const out: { title: string; svg: string }[] = [];
  for (const f of fields) {
    const values = series.flatMap((s) =>
      s.log
        .filter((r) => typeof r[f.key] === "number")
        .map((r) => ({
          epoch: r.epoch,
          value: r[f.key] as number,
          run: s.run,
          group: s.group,
        })),
    );
    if (values.length === 0) continue;
    out.push({
      title: `${title}: ${f.label}`,
      svg: await renderSvg({
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: `${title}: ${f.label}`,
        data: { values },
        width: 360,
        height: 200,
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "epoch", type: "quantitative" },
          y: { field: "value", type: "quantitative", title: f.label },
          color: { field: "group", type: "nominal", title: null },
          detail: { field: "run", type: "nominal" },
        },
      }),
    });
  }
  return out;
}

/**
 * The final grounder's per-class confusion (metrics.json `groundingConfusion`, on the test
 * images): a row per true class, a column per symbol read, and one for none.
 */
export function confusionTable(metrics: MetricsJson): Table | undefined {
  const counts = metrics.groundingConfusion as number[][] | undefined;
  const alphabet = metrics.alphabet as number[] | undefined;
  if (!counts || !alphabet || counts.length !== alphabet.length)
    return undefined;
  const columns = [
    ...alphabet.map((v, k) => ({ key: `read${k}`, label: `reads ${v}` })),
    { key: "none", label: "none" },
    { key: "right", label: "right" },
  ];
  return {
    title: "Grounding: true class against the symbol the final g reads",
    note: "Test images; g reads the value of its most probable class (categorical output) or the alphabet value nearest to g(x). Counts, and the share of the row read right.",
    columns,
    rows: counts.map((row, c) => {
      const total = row.reduce((a, b) => a + b, 0);
      const cells: Record<string, Cell> = {};
      row.forEach((n, k) => {
        cells[k < alphabet.length ? `read${k}` : "none"] = {
          value: n,
          run: ".",
        };
      });
      cells.right = {
        value: total === 0 ? null : Number((row[c] / total).toFixed(3)),
        run: ".",
      };
      return { label: `class ${c} (${alphabet[c]})`, cells, paper: {} };
    }),
  };
}

/** The results of DIR: an experiment folder or a single train run folder. */
export async function collectResults(dir: string): Promise<Results> {
  const recordFile = path.join(dir, "experiment.json");
  if (!fs.existsSync(recordFile)) {
    const metrics = readMetrics(dir);
    if (!metrics)
      throw new Error(
        `${dir}: neither an experiment folder (experiment.json) nor a run folder (metrics.json)`,
      );
    const log = readLog(dir);
    const figures = await curves(
      "training",
      [{ run: ".", group: path.basename(path.resolve(dir)), log }],
      [
        { key: "loss", label: "training loss" },
        { key: "programSuccess", label: "programs solved" },
        { key: "symbolicLoss", label: "symbolic loss" },
        { key: "groundingAccuracy", label: "grounding accuracy" },
        { key: "meanProgramLength", label: "mean program length" },
        { key: "abducedAccuracy", label: "abduced symbols right (batch)" },
        {
          key: "batchGroundingAccuracy",
          label: "g(x) right on the abduced symbols (batch)",
        },
      ],
    );
    const confusion = confusionTable(metrics);
    const cells: Record<string, Cell> = {};
    for (const c of TABLE1_COLUMNS)
      cells[c.key] = { value: c.of(metrics), run: "." };
    return {
      source: dir,
      experiment: "run",
      preset: null,
      tables: [
        {
          title: "Metrics of the run",
          note: "",
          columns: TABLE1_COLUMNS.map(({ key, label }) => ({ key, label })),
          rows: [
            {
              label: String(
                (metrics.config as { sketch?: string })?.sketch ?? dir,
              ),
              cells,
              paper: {},
            },
          ],
        },
        ...(confusion ? [confusion] : []),
      ],
      figures,
    };
  }
  const record = JSON.parse(
    fs.readFileSync(recordFile, "utf8"),
  ) as ExperimentRecord;
  const finished: Finished[] = record.runs.flatMap((spec) => {
    const folder = path.join(dir, "runs", spec.id);
    const metrics = readMetrics(folder);
    return metrics
      ? [{ spec, folder, rel: path.join("runs", spec.id), metrics }]
      : [];
  });
  const tables: Table[] = [];
  const figures: { title: string; svg: string }[] = [];
  if (finished.length > 0)
    switch (record.experiment) {
      case "table1":
        // One table per block (objective), and Fig. 5 from the same runs: the rows that train a
        // program sketch with the method's own flags are Fig. 5's sketches (FIG5_SKETCHES).
        for (const block of [...new Set(finished.map((r) => r.spec.block))]) {
          const mine = finished.filter((r) => r.spec.block === block);
          tables.push(table1(mine, block));
          const sketches = mine.filter(
            (r) =>
              FIG5_ROWS.has(r.spec.group) &&
              FIG5_SKETCHES.some((s) => s.sketch === r.spec.sketch),
          );
          if (sketches.length > 0)
            figures.push(
              await fig5(
                sketches,
                `Fig. 5 from Table 1's runs${block ? `, ${block}` : ""}`,
                (r) =>
                  FIG5_SKETCHES.find((s) => s.sketch === r.spec.sketch)!.label,
              ),
            );
        }
        break;
      case "table2":
        tables.push(table2(finished));
        break;
      case "fig5":
        figures.push(await fig5(finished));
        break;
      case "fig6":
        figures.push(
          ...(await curves(
            "Fig. 6",
            finished.map((r) => ({
              run: r.rel,
              group: r.spec.group,
              log: readLog(r.folder),
            })),
            [
              { key: "programSuccess", label: "programs solved" },
              { key: "meanProgramLength", label: "mean program length" },
            ],
          )),
        );
        break;
    }
  if (finished.length > 0) tables.push(runsTable(finished));
  return {
    source: dir,
    experiment: record.experiment,
    preset: record.preset,
    tables,
    figures,
  };
}

/** Columns that count programs: their means and spreads read as counts, not as losses. */
const COUNT_COLUMNS = new Set([
  "programSuccess",
  "foundProgramSuccess",
  "heldOutProgramSuccess",
]);

function formatValue(key: string, v: number | null): string {
  if (v === null) return "–";
  if (key === "successRate" || key === "right")
    return `${(100 * v).toFixed(1)}%`;
  if (Number.isInteger(v)) return String(v);
  if (COUNT_COLUMNS.has(key)) return v.toFixed(1);
  if (key === "wallSeconds") return v.toFixed(0);
  return v.toExponential(2);
}

function cellText(key: string, c: Cell): string {
  const spread =
    c.mean !== undefined && c.n !== undefined && c.n > 1
      ? ` (${formatValue(key, c.mean)} ± ${formatValue(key, c.std ?? 0)}, n=${c.n})`
      : "";
  return formatValue(key, c.value) + spread;
}

function markdown(results: Results): string {
  const lines = [
    `# Report: ${results.experiment}${results.preset ? ` (preset ${results.preset})` : ""}`,
    "",
    `Source: \`${results.source}\`. Every cell's run is in results.json.`,
    "",
  ];
  for (const t of results.tables) {
    lines.push(`## ${t.title}`, "", t.note, "");
    const header = [
      "",
      ...t.columns.map((c) => c.label),
      ...t.columns
        .filter((c) => t.rows.some((r) => r.paper[c.key]))
        .map((c) => `paper: ${c.label}`),
    ];
    const paperCols = t.columns.filter((c) =>
      t.rows.some((r) => r.paper[c.key]),
    );
    lines.push(
      `| ${header.join(" | ")} |`,
      `| ${header.map(() => "---").join(" | ")} |`,
    );
    for (const r of t.rows)
      lines.push(
        `| ${[r.label, ...t.columns.map((c) => cellText(c.key, r.cells[c.key])), ...paperCols.map((c) => r.paper[c.key] ?? "–")].join(" | ")} |`,
      );
    lines.push("");
  }
  for (const f of results.figures)
    lines.push(`## ${f.title}`, "", "(SVG in report.html)", "");
  return lines.join("\n");
}

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function html(results: Results): string {
  const parts = [
    `<!doctype html><html><head><meta charset="utf-8"><title>sketchc report: ${escape(results.experiment)}</title>`,
    `<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}.paper{background:#eef}</style></head><body>`,
    `<h1>Report: ${escape(results.experiment)}${results.preset ? ` (preset ${escape(results.preset)})` : ""}</h1>`,
  ];
  for (const t of results.tables) {
    const paperCols = t.columns.filter((c) =>
      t.rows.some((r) => r.paper[c.key]),
    );
    parts.push(
      `<h2>${escape(t.title)}</h2><p>${escape(t.note)}</p><table class="results"><thead><tr><th></th>`,
    );
    parts.push(
      ...t.columns.map((c) => `<th>${escape(c.label)}</th>`),
      ...paperCols.map(
        (c) => `<th class="paper">paper: ${escape(c.label)}</th>`,
      ),
    );
    parts.push("</tr></thead><tbody>");
    for (const r of t.rows) {
      parts.push(`<tr><td>${escape(r.label)}</td>`);
      parts.push(
        ...t.columns.map(
          (c) =>
            `<td title="${escape(r.cells[c.key].run ?? "")}">${escape(cellText(c.key, r.cells[c.key]))}</td>`,
        ),
      );
      parts.push(
        ...paperCols.map(
          (c) => `<td class="paper">${escape(r.paper[c.key] ?? "–")}</td>`,
        ),
        "</tr>",
      );
    }
    parts.push("</tbody></table>");
  }
  for (const f of results.figures)
    parts.push(`<h2>${escape(f.title)}</h2><figure>${f.svg}</figure>`);
  parts.push("</body></html>\n");
  return parts.join("\n");
}

/** Writes DIR/report.md, DIR/report.html and DIR/results.json; returns the results. */
export async function writeReport(dir: string): Promise<Results> {
  const results = await collectResults(dir);
  writeFileAtomic(
    path.join(dir, "results.json"),
    JSON.stringify(
      {
        ...results,
        figures: results.figures.map((f) => ({
          title: f.title,
          svgBytes: f.svg.length,
        })),
      },
      null,
      2,
    ) + "\n",
  );
  writeFileAtomic(path.join(dir, "report.md"), markdown(results));
  writeFileAtomic(path.join(dir, "report.html"), html(results));
  return results;
}
