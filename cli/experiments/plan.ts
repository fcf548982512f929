// The paper's experiments as declared lists of runs (Sec. 4.1-4.3, Tables 1-2, Figs. 5-6): each run
// is a sketch, the flags of `sketchc train` and a seed, under a preset that sets the scale.

/** The scale of an experiment's runs. */
export type ExperimentPreset = "quick" | "cpu" | "paper";
export const EXPERIMENT_PRESETS: readonly ExperimentPreset[] = [
  "quick",
  "cpu",
  "paper",
];
export type ExperimentName = "table1" | "table2" | "fig5" | "fig6";
export const EXPERIMENT_NAMES: readonly ExperimentName[] = [
  "table1",
  "table2",
  "fig5",
  "fig6",
];

/** One `sketchc train` process. */
export interface RunSpec {
  /** The run folder's name under DIR/runs/, unique in the experiment. */
  readonly id: string;
  /** The table row, figure series or setting the run belongs to. */
  readonly group: string;
  /**
   * Table 1's block: the objective the run trains ("the paper's objective" or "the cpu preset"),
   * a table of its own in the report; undefined for the other experiments.
   */
  readonly block?: string;
  readonly sketch: string;
  readonly flags: readonly string[];
  readonly seed: number;
}

/** The committed image sample, for `quick`. */
const SAMPLE = "runtime/data/fixtures/fashion-mnist-sample";

/**
 * The scale of each experiment preset (the objective is the block's, below):
 * - quick: seconds per run (tests): 4 tasks, 2 epochs of 2 steps, tiny nets, the committed sample;
 * - cpu: what fits this 2-core machine, all of Table 1 (both blocks, 20 runs) in at most 90 min
 *   with --jobs 2: 10 epochs of 50 steps (500 steps, half the main command's), the length prior
 *   from epoch 5, the late sharpness from epoch 8, metrics every 2 epochs;
 * - paper: the paper's scale (ResNet-18, 20 epochs), for a GPU.
 */
export const PRESET_FLAGS: Record<ExperimentPreset, readonly string[]> = {
  quick: [
    "--data",
    SAMPLE,
    "--tasks",
    "4",
    "--train-pairs",
    "32",
    "--test-pairs",
    "16",
    "--batch",
    "4",
    "--epochs",
    "2",
    "--steps",
    "2",
    "--hidden",
    "8",
    "--held-out-tasks",
    "2",
    "--generalization-tasks",
    "2",
    "--decode-samples",
    "0",
    "--eval-every",
    "1",
    "--prior-epoch",
    "1",
    "--late-epoch",
    "1",
    "--imitation",
    "0",
    "--abduction",
    "0",
    "--backend",
    "wasm",
  ],
  cpu: [
    "--epochs",
    "10",
    "--prior-epoch",
    "5",
    "--late-epoch",
    "8",
    "--eval-every",
    "2",
  ],
  paper: ["--grounder", "resnet18", "--epochs", "20", "--eval-every", "2"],
};

/**
 * Table 1's two blocks (they answer different questions): the paper's objective (`--preset
 * paper`: no memory, abduction or symbol prior) and the cpu preset with its additions. At the cpu
 * scale the paper's objective keeps the cpu preset's step cost (`--task-batch 100 --hidden 128`:
 * all 500 tasks through width-256 MLPs is about 25x slower a step; docs/results.md).
 */
export function table1Blocks(preset: ExperimentPreset): readonly {
  readonly block: string;
  readonly id: string;
  readonly flags: readonly string[];
}[] {
  const paper = ["--preset", "paper"];
  if (preset === "cpu") paper.push("--task-batch", "100", "--hidden", "128");
  // quick's own flags come after the block's, so its tiny nets win over the preset's width.
  return [
    { block: "the cpu preset", id: "cpu", flags: ["--preset", "cpu"] },
    { block: "the paper's objective", id: "paper", flags: paper },
  ];
}

/** Table 1's rows (Sec. 4.1 "Baselines"): the label and the runs of one seed. */
export const TABLE1_ROWS: readonly {
  readonly row: string;
  readonly runs: readonly {
    sketch: string;
    flags: readonly string[];
    variant?: string;
  }[];
}[] = [
  {
    row: "ROAP (our model)",
    runs: [{ sketch: "sketches/arith.sketch", flags: [] }],
  },
  {
    row: "w/o program, i.e., CNN+MLP",
    runs: [
      {
        sketch: "sketches/arith.sketch",
        flags: ["--model", "cnn-mlp", "--cnn-mlp", "per-task"],
        variant: "per-task",
      },
      {
        sketch: "sketches/arith.sketch",
        flags: ["--model", "cnn-mlp", "--cnn-mlp", "shared"],
        variant: "shared",
      },
    ],
  },
  {
    row: "w/o amortized inference",
    runs: [
      {
        sketch: "sketches/arith.sketch",
        flags: ["--model", "no-amortization"],
      },
    ],
  },
  {
    row: "w/o gumbel-softmax",
    runs: [{ sketch: "sketches/arith.sketch", flags: ["--no-gumbel"] }],
  },
  {
    row: "w/ Syntax-Tree",
    runs: [2, 3, 5].map((d) => ({
      sketch: `sketches/arith-tree${d}.sketch`,
      flags: [],
      variant: `depth ${d}`,
    })),
  },
  {
    row: "w/ depth=10",
    runs: [{ sketch: "sketches/arith-depth10.sketch", flags: [] }],
  },
  {
    row: "w/ depth=3",
    runs: [{ sketch: "sketches/arith-depth3.sketch", flags: [] }],
  },
];

/** Fig. 5's sketches: straight-line code of 3, 10 and 30 lines, and the syntax trees. */
export const FIG5_SKETCHES: readonly {
  readonly label: string;
  readonly sketch: string;
}[] = [
  { label: "3 lines", sketch: "sketches/arith-depth3.sketch" },
  { label: "10 lines", sketch: "sketches/arith-depth10.sketch" },
  { label: "30 lines", sketch: "sketches/arith.sketch" },
  { label: "tree depth 2", sketch: "sketches/arith-tree2.sketch" },
  { label: "tree depth 3", sketch: "sketches/arith-tree3.sketch" },
  { label: "tree depth 5", sketch: "sketches/arith-tree5.sketch" },
];

const slug = (s: string) =>
  s
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .toLowerCase();

/**
 * `flags` after `base`, leaving out the options of `base` that `flags` sets again: the same
 * command (a later flag wins), recorded without its overridden values.
 */
export function overriding(
  base: readonly string[],
  flags: readonly string[],
): string[] {
  const again = new Set(flags.filter((f) => f.startsWith("--")));
  const kept: string[] = [];
  for (let i = 0; i < base.length; i++) {
    const takesValue = i + 1 < base.length && !base[i + 1].startsWith("--");
    if (!again.has(base[i])) kept.push(base[i]);
    if (takesValue) {
      if (!again.has(base[i])) kept.push(base[i + 1]);
      i++;
    }
  }
  return [...kept, ...flags];
}

/** The runs of an experiment at a preset, `seeds` seeds each (Table 2: at least 10 by default). */
export function planExperiment(
  name: ExperimentName,
  preset: ExperimentPreset,
  seeds: number,
): RunSpec[] {
  const base = PRESET_FLAGS[preset];
  const seedList = Array.from({ length: seeds }, (_, s) => s);
  const runs: RunSpec[] = [];
  const add = (
    group: string,
    sketch: string,
    flags: readonly string[],
    seed: number,
    suffix = "",
    block?: {
      readonly block: string;
      readonly id: string;
      readonly flags: readonly string[];
    },
  ) =>
    runs.push({
      id: `${block ? `${block.id}-` : ""}${slug(group)}${suffix ? `-${slug(suffix)}` : ""}-s${seed}`,
      group,
      ...(block ? { block: block.block } : {}),
      sketch,
      // The block's preset first, then the scale, then the run's own: each overrides the last.
      flags: overriding(overriding(block?.flags ?? [], base), flags),
      seed,
    });
  switch (name) {
    case "table1":
      for (const block of table1Blocks(preset))
        for (const row of TABLE1_ROWS)
          for (const r of row.runs)
            for (const seed of seedList)
              add(row.row, r.sketch, r.flags, seed, r.variant, block);
      break;
    case "table2": {
      const many = preset === "quick" ? "4" : "500";
      // At the cpu scale Table 2's 20 runs take 200 steps each (4 epochs; Table 1's ROAP run is
      // at a symbolic loss of 0.024 there) and evaluate once, at the end, without held-out or
      // new tasks: Table 2 reads only the symbolic loss.
      const scale =
        preset === "cpu"
          ? [
              "--epochs",
              "4",
              "--prior-epoch",
              "3",
              "--late-epoch",
              "4",
              "--eval-every",
              "4",
              "--held-out-tasks",
              "0",
              "--generalization-tasks",
              "0",
            ]
          : [];
      for (const seed of seedList) {
        add(
          "1 task",
          "sketches/arith.sketch",
          overriding(scale, ["--tasks", "1", "--held-out-tasks", "0"]),
          seed,
        );
        add(
          `${many} tasks`,
          "sketches/arith.sketch",
          [...scale, "--tasks", many],
          seed,
        );
      }
      break;
    }
    case "fig5":
      for (const s of FIG5_SKETCHES)
        for (const seed of seedList) add(s.label, s.sketch, [], seed);
      break;
    case "fig6":
      for (const seed of seedList) {
        add(
          "with the length prior",
          "sketches/arith.sketch",
          ["--eval-every", "1"],
          seed,
        );
        add(
          "without the length prior",
          "sketches/arith.sketch",
          ["--eval-every", "1", "--prior", "0"],
          seed,
        );
      }
      break;
  }
  return runs;
}

/** The default number of seeds: Table 2 needs at least 10 runs a setting (2 for quick). */
export function defaultSeeds(
  name: ExperimentName,
  preset: ExperimentPreset,
): number {
  if (name === "table2") return preset === "quick" ? 2 : 10;
  // At the cpu scale a Fig. 6 run is a Table 1 run (500 steps, about 12 min two at a time).
  if (name === "fig6") return preset === "paper" ? 3 : 1;
  return 1;
}
