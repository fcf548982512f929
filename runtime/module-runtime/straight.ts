// Straight-line code (Fig. 3) for every compiled sketch: the soft interpreter as a loop over the
// sketch's tables, the fused typed-array interpreter with its backward pass, the expected length of
// Eq. 6, and decode, encode, prune, evaluate, length, formula and format. A generated module passes
// its tables and operator bodies to `straightSketch` and exports what it returns.

import * as tf from "@tensorflow/tfjs-core";
import {
  argmaxAllowed,
  cheapestOperator,
  checkFormat,
  inputName,
  loadSlots,
  maskFromScope,
  mixOperators,
  oneHotHead,
  sketchInfo,
  type Params,
  type SketchInfo,
  type SketchSpec,
  type Symbols,
} from "./common.js";
import { fmt, type Fmt } from "./formula.js";
import { argumentMixer } from "./mixing.js";

/** One line of straight-line code: an operator and the slots its arguments read (0-based; inputs first). */
export interface StraightLine<Op extends string = string> {
  readonly op: Op;
  readonly args: readonly number[];
}

/** A discrete program: one entry per line, null where the output does not read the line. */
export interface StraightProgram<Op extends string = string> {
  readonly lines: readonly (StraightLine<Op> | null)[];
}

/**
 * Freezes a program and its lines: decoded programs are values, and `evaluate` keeps the plan of
 * a frozen one (a program mutated after it was evaluated would otherwise run a stale plan).
 */
function freezeProgram<P extends StraightProgram>(program: P): P {
  for (const line of program.lines)
    if (line !== null) Object.freeze(Object.freeze(line).args);
  Object.freeze(program.lines);
  return Object.freeze(program);
}

/**
 * The fused forward pass of one line, for every example b of a task: writes
 * out[q + b] = sum over operators k of w[o + k] * F_k(x[p + b], x[p + B + b], ...).
 */
export type FusedLine = (
  w: Float32Array,
  o: number,
  x: Float64Array,
  p: number,
  B: number,
  out: Float64Array,
  q: number,
) => void;

/**
 * Its backward pass for the upstream gradients dy[q + b]: adds dy * F_k to dw[o + k] (summed over
 * b) and writes dy * (sum over k of w[o + k] * dF_k/dx_i) to dx[i * B + b].
 */
export type FusedLineBackward = (
  w: Float32Array,
  o: number,
  x: Float64Array,
  p: number,
  B: number,
  dy: Float64Array,
  q: number,
  dw: Float64Array,
  dx: Float64Array,
) => void;

export interface StraightSpec<
  Op extends string,
  Head extends string,
> extends SketchSpec<Op, Head> {
  /** L: lines of code. */
  readonly lines: number;
  /** The slot the output is read from. */
  readonly outputSlot: number;
  /** The operator bodies and their derivatives inlined into one line's loops. */
  readonly fused: {
    readonly forward: FusedLine;
    readonly backward: FusedLineBackward;
  };
}

/** The functions of a straight-line module (docs in the generated module and docs/language.md). */
export interface StraightSketch<Op extends string, Head extends string> {
  readonly sketch: SketchInfo<Op, Head>;
  execute(z: Params<Head>, s: Symbols): tf.Tensor2D;
  executeFused(z: Params<Head>, s: Symbols): tf.Tensor2D;
  expectedLength(z: Params<Head>): tf.Tensor1D;
  decode(z: Params<Head>): StraightProgram<Op>[];
  encode(program: StraightProgram<Op>): Params<Head>;
  prune(program: StraightProgram<Op>): StraightProgram<Op>;
  evaluate(program: StraightProgram<Op>, s: readonly number[]): number;
  evaluateMany(
    program: StraightProgram<Op>,
    symbols: ArrayLike<number>,
    out: Float64Array,
  ): Float64Array;
  length(program: StraightProgram<Op>): number;
  formula(program: StraightProgram<Op>): string;
  format(program: StraightProgram<Op>): string;
}

/** One argument of one line: the z-weighted sum of the window's slots. window: [T, B, n] -> [T, B]. */
function readSlot(
  window: tf.Tensor3D,
  head: tf.Tensor3D,
  line: number,
  from: number,
): tf.Tensor2D {
  const [T, B, n] = window.shape;
  const weights = tf.reshape(tf.slice(head, [0, line, from], [T, 1, n]), [
    T,
    n,
    1,
  ]); // [T, n, 1]
  return tf.reshape(tf.matMul(window, weights), [T, B]); // [T, B]
}

/** The module of a straight-line sketch from its tables and operator bodies. */
export function straightSketch<Op extends string, Head extends string>(
  spec: StraightSpec<Op, Head>,
): StraightSketch<Op, Head> {
  checkFormat(spec);
  const V = spec.numInputs;
  const BASE = V + spec.constants.length; // slots before line 1
  const K = spec.ops.length;
  const L = spec.lines;
  const S = BASE + L; // slots
  const OUTPUT = spec.outputSlot;
  const LINES = OUTPUT - BASE + 1; // the lines the output can depend on
  const [opHead, ...argHeads] = spec.heads;
  const A = argHeads.length; // argument heads: the largest arity
  const opMask = maskFromScope(opHead.scope, K);
  const argMasks = argHeads.map((h) => maskFromScope(h.scope, S));
  // Per argument head i and line l, the [from, to) window of slots it reads, at 2 * (i * L + l).
  const windows = Int32Array.from(
    argHeads.flatMap((h) =>
      h.scope.flatMap((row) => [row[0][0], row[row.length - 1][1]]),
    ),
  );
  // uses[i][o] is 1 when operator o reads argument i + 1.
  const uses = argHeads.map((_, i) => spec.arity.map((a) => (a > i ? 1 : 0)));
  const sketch = sketchInfo(spec, "straight", L, [
    { name: opHead.name, shape: [L, K], mask: opMask },
    ...argHeads.map((h, i) => ({
      name: h.name,
      shape: [L, S] as const,
      mask: argMasks[i],
    })),
  ]);

  function execute(z: Params<Head>, s: Symbols): tf.Tensor2D {
    return tf.tidy(() => {
      const ops = z[opHead.name];
      const T = ops.shape[0];
      const slots = loadSlots(spec, s, T); // inputs and constants, each [T, B]
      for (let l = 0; l < LINES; l++) {
        // Arguments with the same window share one stack of its slots.
        const stacks = new Map<number, tf.Tensor3D>();
        const args = argHeads.map((h, i) => {
          const from = windows[2 * (i * L + l)];
          const to = windows[2 * (i * L + l) + 1];
          let window = stacks.get(from * S + to);
          if (window === undefined) {
            window = tf.stack(slots.slice(from, to), 2) as tf.Tensor3D; // [T, B, to - from]
            stacks.set(from * S + to, window);
          }
          return readSlot(window, z[h.name], l, from);
        });
        const w = tf.slice(ops, [0, l, 0], [T, 1, K]);
        slots.push(mixOperators(spec, w, args) as tf.Tensor2D);
      }
      return slots[OUTPUT];
    });
  }

  /** The fused forward pass over z's heads (op first) and s, with its backward pass as gradFunc. */
  function interpretFused(
    heads: readonly tf.Tensor3D[],
    s: Symbols,
  ): { value: tf.Tensor2D; gradFunc: (dy: tf.Tensor2D) => tf.Tensor[] } {
    const [opHeadZ, ...argHeadsZ] = heads;
    const T = opHeadZ.shape[0];
    const shared = s.rank === 2;
    const B = s.shape[s.rank - 2];
    if (s.shape[s.rank - 1] !== V || (!shared && s.shape[0] !== T)) {
      throw new RangeError(
        `s must be [B, ${V}] or [${T}, B, ${V}], got [${s.shape}]`,
      );
    }
    const { forward, backward } = spec.fused;
    const constants = spec.constants;
    const w = opHeadZ.dataSync() as Float32Array; // [T, L, K]
    const zArgs = argHeadsZ.map((h) => h.dataSync() as Float32Array); // per argument, [T, L, S]
    const symbols = s.dataSync() as Float32Array; // [B, V] or [T, B, V]
    // Examples innermost, so the loops over b are long and contiguous and a z entry is read once.
    const values = new Float64Array(T * S * B); // [T, S, B], kept for backward
    const args = new Float64Array(T * LINES * A * B); // [T, lines, A, B], kept for backward
    const out = new Float32Array(T * B); // [T, B]
    const mixer = argumentMixer();
    for (let t = 0; t < T; t++) {
      const v = t * S * B;
      for (let b = 0; b < B; b++) {
        const input = (shared ? b : t * B + b) * V;
        for (let i = 0; i < V; i++) values[v + i * B + b] = symbols[input + i];
        for (let c = 0; c < constants.length; c++)
          values[v + (V + c) * B + b] = constants[c].value;
      }
    }
    // Line by line for all tasks at once (each task's values depend only on its earlier lines).
    for (let l = 0; l < LINES; l++) {
      // Fig. 3: an argument is the z-weighted sum of the slots in the line's window.
      for (let i = 0; i < A; i++) {
        const [from, to] = [
          windows[2 * (i * L + l)],
          windows[2 * (i * L + l) + 1],
        ];
        mixer.mixArgs(
          values,
          zArgs[i],
          args,
          T,
          S,
          B,
          L,
          LINES,
          A,
          i,
          l,
          from,
          to,
        );
      }
      // Fig. 3: Exec(z, s, l) mixes every operator F_o by the op weights z_lo.
      for (let t = 0; t < T; t++) {
        const p = (t * LINES + l) * A * B;
        forward(w, (t * L + l) * K, args, p, B, values, (t * S + BASE + l) * B);
      }
    }
    for (let t = 0; t < T; t++) {
      const v = t * S * B;
      for (let b = 0; b < B; b++) out[t * B + b] = values[v + OUTPUT * B + b];
    }
    const gradFunc = (dy: tf.Tensor2D): tf.Tensor[] => {
      const g = dy.dataSync(); // [T, B]
      const dw = new Float64Array(w.length);
      const dzArgs = zArgs.map((z) => new Float64Array(z.length));
      const ds = new Float64Array(symbols.length);
      const dv = new Float64Array(T * S * B); // [T, S, B]: d output / d slot
      const dargs = new Float64Array(T * A * B); // [T, A, B]: d output / d argument, one line
      const dargsOf = Array.from({ length: T }, (_, t) =>
        dargs.subarray(t * A * B, (t + 1) * A * B),
      );
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) dv[(t * S + OUTPUT) * B + b] = g[t * B + b];
      }
      // Lines in reverse: a line's gradient is complete once every later line has been visited.
      for (let l = LINES - 1; l >= 0; l--) {
        for (let t = 0; t < T; t++) {
          const p = (t * LINES + l) * A * B;
          backward(
            w,
            (t * L + l) * K,
            args,
            p,
            B,
            dv,
            (t * S + BASE + l) * B,
            dw,
            dargsOf[t],
          );
        }
        for (let i = 0; i < A; i++) {
          const [from, to] = [
            windows[2 * (i * L + l)],
            windows[2 * (i * L + l) + 1],
          ];
          mixer.mixArgsGrad(
            values,
            zArgs[i],
            dargs,
            dv,
            dzArgs[i],
            T,
            S,
            B,
            L,
            A,
            i,
            l,
            from,
            to,
          );
        }
      }
      // Shared s sums its gradient over tasks; constants take none.
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const input = (shared ? b : t * B + b) * V;
          for (let i = 0; i < V; i++) ds[input + i] += dv[(t * S + i) * B + b];
        }
      }
      return [
        tf.tensor(Float32Array.from(dw), opHeadZ.shape),
        ...dzArgs.map((dz, i) =>
          tf.tensor(Float32Array.from(dz), argHeadsZ[i].shape),
        ),
        tf.tensor(Float32Array.from(ds), s.shape),
      ];
    };
    return { value: tf.tensor2d(out, [T, B]), gradFunc };
  }

  // tf.customGrad, so gradients of executeFused reach every head of z and s. Its inputs are z's
  // heads, then s, then customGrad's save function (unused: the closure keeps what backward needs).
  const fusedInterpreter = tf.customGrad<tf.Tensor2D>((...inputs) => {
    const tensors = inputs.slice(0, -1) as tf.Tensor[];
    return interpretFused(
      tensors.slice(0, -1) as tf.Tensor3D[],
      tensors[tensors.length - 1] as Symbols,
    );
  });

  function executeFused(z: Params<Head>, s: Symbols): tf.Tensor2D {
    return fusedInterpreter(...spec.heads.map((h) => z[h.name]), s);
  }

  function expectedLength(z: Params<Head>): tf.Tensor1D {
    return tf.tidy(() => {
      const opZ = z[opHead.name];
      const T = opZ.shape[0];
      const cost = tf.tensor1d(spec.cost as number[]); // [K]
      const usesT = uses.map((u) => tf.tensor1d(u)); // per argument, [K]
      const start = new Float32Array(S).fill(1);
      start[OUTPUT] = 0;
      let unreached: tf.Tensor2D = tf.tile(tf.tensor2d(start, [1, S]), [T, 1]); // [T, S]
      let total: tf.Tensor1D = tf.zeros([T]);
      for (let line = OUTPUT - BASE; line >= 0; line--) {
        const reach = tf.sub(
          1,
          tf.reshape(tf.slice(unreached, [0, BASE + line], [T, 1]), [T]),
        ); // [T]
        const ops = tf.reshape(tf.slice(opZ, [0, line, 0], [T, 1, K]), [T, K]); // [T, K]
        total = tf.add(total, tf.mul(reach, tf.sum(tf.mul(ops, cost), 1)));
        argHeads.forEach((h, i) => {
          const reads = tf.mul(reach, tf.sum(tf.mul(ops, usesT[i]), 1)); // [T]: reached and reads argument i
          const choice = tf.reshape(
            tf.slice(z[h.name], [0, line, 0], [T, 1, S]),
            [T, S],
          );
          unreached = tf.mul(
            unreached,
            tf.sub(1, tf.mul(tf.expandDims(reads, 1), choice)),
          );
        });
      }
      return total;
    });
  }

  /** Which lines the output reads, directly or not. Throws if it reads a null line. */
  function reachedLines(program: StraightProgram<Op>): boolean[] {
    if (program.lines.length !== L) {
      throw new RangeError(
        `a program of this sketch has ${L} lines, got ${program.lines.length}`,
      );
    }
    const reached = new Array<boolean>(L).fill(false);
    reached[OUTPUT - BASE] = true;
    for (let l = OUTPUT - BASE; l >= 0; l--) {
      if (!reached[l]) continue;
      const line = program.lines[l];
      if (line === null)
        throw new RangeError(`line ${l + 1} is read by the output but is null`);
      for (const a of line.args) if (a >= BASE) reached[a - BASE] = true;
    }
    return reached;
  }

  function prune(program: StraightProgram<Op>): StraightProgram<Op> {
    const reached = reachedLines(program);
    return {
      lines: program.lines.map((line, l) => (reached[l] ? line : null)),
    };
  }

  function decode(z: Params<Head>): StraightProgram<Op>[] {
    // Flat reads ([T, L, K] and [T, L, S]): decoding runs on every proposal of every step.
    const [T] = z[opHead.name].shape;
    const ops = z[opHead.name].dataSync();
    const args = argHeads.map((h) => z[h.name].dataSync());
    // Only the lines the output reaches are decoded, in `reachedLines`' order: the program
    // `prune` would make of every line's argmax, without the argmaxes it would drop.
    return Array.from({ length: T }, (_, t) => {
      const lines: (StraightLine<Op> | null)[] = new Array(L).fill(null);
      const reached = new Uint8Array(L);
      reached[OUTPUT - BASE] = 1;
      for (let l = OUTPUT - BASE; l >= 0; l--) {
        if (!reached[l]) continue;
        const o = argmaxAllowed(ops, opMask[l], (t * L + l) * K);
        const lineArgs: number[] = [];
        for (let i = 0; i < spec.arity[o]; i++) {
          const a = argmaxAllowed(args[i], argMasks[i][l], (t * L + l) * S);
          lineArgs.push(a);
          if (a >= BASE) reached[a - BASE] = 1;
        }
        lines[l] = { op: spec.ops[o], args: lineArgs };
      }
      return freezeProgram({ lines });
    });
  }

  function encode(program: StraightProgram<Op>): Params<Head> {
    reachedLines(program);
    const cheapest = cheapestOperator(spec);
    const ops: number[] = [];
    const args: number[][] = argMasks.map(() => []);
    program.lines.forEach((line, l) => {
      const o = line === null ? cheapest : spec.ops.indexOf(line.op);
      if (o < 0)
        throw new RangeError(`line ${l + 1}: unknown operator '${line?.op}'`);
      if (line !== null && line.args.length !== spec.arity[o]) {
        throw new RangeError(
          `line ${l + 1}: '${line.op}' takes ${spec.arity[o]} argument(s), got ${line.args.length}`,
        );
      }
      ops.push(o);
      argMasks.forEach((mask, i) => {
        const a = line?.args[i] ?? mask[l].indexOf(1);
        if (mask[l][a] !== 1)
          throw new RangeError(
            `line ${l + 1}: argument ${i + 1} may not read slot ${a}`,
          );
        args[i].push(a);
      });
    });
    const z = { [opHead.name]: oneHotHead(ops, K) } as Record<
      Head,
      tf.Tensor3D
    >;
    argHeads.forEach((h, i) => (z[h.name] = oneHotHead(args[i], S)));
    return z;
  }

  function evaluate(
    program: StraightProgram<Op>,
    s: readonly number[],
  ): number {
    if (s.length !== V)
      throw new RangeError(`expected ${V} symbols, got ${s.length}`);
    // Abduction, the codebook and the memory run programs on every tuple of symbols, so this is
    // a hot path: a frozen program (every decoded one) keeps its plan, the others plan each call.
    const plan = planOf(program);
    const values = scratch;
    for (let i = 0; i < V; i++) values[i] = s[i];
    const { lines, operators, args } = plan;
    for (let k = 0; k < lines.length; k++) {
      const op = operators[k];
      const a = args[k];
      values[BASE + lines[k]] =
        a.length === 1
          ? op(values[a[0]])
          : a.length === 2
            ? op(values[a[0]], values[a[1]])
            : op(...a.map((slot) => values[slot]));
    }
    return values[OUTPUT];
  }

  /**
   * `evaluate` on out.length symbol vectors at once (symbols: [n * V], row-major), slot by slot
   * over all of them: per vector the same operations in the same order, so the same values.
   */
  function evaluateMany(
    program: StraightProgram<Op>,
    symbols: ArrayLike<number>,
    out: Float64Array,
  ): Float64Array {
    const n = out.length;
    if (symbols.length !== n * V)
      throw new RangeError(
        `expected ${n} x ${V} symbols, got ${symbols.length}`,
      );
    const plan = planOf(program);
    if (columns.length < S * n) columns = new Float64Array(S * n);
    const values = columns;
    for (let i = 0; i < V; i++)
      for (let b = 0; b < n; b++) values[i * n + b] = symbols[b * V + i];
    spec.constants.forEach((c, i) =>
      values.fill(c.value, (V + i) * n, (V + i + 1) * n),
    );
    const { lines, operators, args } = plan;
    for (let k = 0; k < lines.length; k++) {
      const op = operators[k];
      const a = args[k];
      const to = (BASE + lines[k]) * n;
      if (a.length === 1) {
        const x = a[0] * n;
        for (let b = 0; b < n; b++) values[to + b] = op(values[x + b]);
      } else if (a.length === 2) {
        const [x, y] = [a[0] * n, a[1] * n];
        for (let b = 0; b < n; b++)
          values[to + b] = op(values[x + b], values[y + b]);
      } else {
        for (let b = 0; b < n; b++)
          values[to + b] = op(...a.map((slot) => values[slot * n + b]));
      }
    }
    out.set(values.subarray(OUTPUT * n, OUTPUT * n + n));
    return out;
  }
  /** Slot-major columns of `evaluateMany` ([S, n]), grown as needed. */
  let columns = new Float64Array(0);

  /** Slots of one evaluation: the inputs, the constants (written once), then the lines. */
  const scratch = new Float64Array(S);
  spec.constants.forEach((c, i) => (scratch[V + i] = c.value));
  const plans = new WeakMap<object, EvaluationPlan>();

  /** The reached lines in order, each with its operator and argument slots. */
  interface EvaluationPlan {
    readonly lines: Int32Array;
    readonly operators: readonly ((...x: number[]) => number)[];
    /** Each line's argument slots. */
    readonly args: readonly (readonly number[])[];
  }

  function planOf(program: StraightProgram<Op>): EvaluationPlan {
    const frozen = Object.isFrozen(program) && Object.isFrozen(program.lines);
    const known = frozen ? plans.get(program) : undefined;
    if (known) return known;
    const reached = reachedLines(program); // throws on a null line the output reads
    const order = program.lines.flatMap((line, l) =>
      reached[l] && line !== null ? [l] : [],
    );
    const plan: EvaluationPlan = {
      lines: Int32Array.from(order),
      operators: order.map((l) => spec.operators[program.lines[l]!.op]),
      // A copy: an unfrozen program's plan must not change with it after this call.
      args: order.map((l) => [...program.lines[l]!.args]),
    };
    if (frozen) plans.set(program, plan);
    return plan;
  }

  function length(program: StraightProgram<Op>): number {
    const reached = reachedLines(program);
    return program.lines.reduce(
      (n, line, l) =>
        reached[l] && line !== null
          ? n + spec.cost[spec.ops.indexOf(line.op)]
          : n,
      0,
    );
  }

  function formula(program: StraightProgram<Op>): string {
    const reached = reachedLines(program);
    const forms: Fmt[] = Array.from({ length: BASE }, (_, i) =>
      fmt.atom(inputName(spec, i)),
    );
    program.lines.forEach((line, l) => {
      forms.push(
        reached[l] && line !== null
          ? spec.formulas[line.op](...line.args.map((a) => forms[a]))
          : fmt.atom("?"),
      );
    });
    return forms[OUTPUT].text;
  }

  function format(program: StraightProgram<Op>): string {
    const reached = reachedLines(program);
    const names: string[] = Array.from({ length: BASE }, (_, i) =>
      inputName(spec, i),
    );
    const code: string[] = [];
    program.lines.forEach((line, l) => {
      if (!reached[l] || line === null) {
        names.push("?");
        return;
      }
      const name = BASE + l === OUTPUT ? "y" : `t${code.length + 1}`;
      code.push(
        `${name} = ${line.op}(${line.args.map((a) => names[a]).join(", ")})`,
      );
      names.push(name);
    });
    return [...code, `// y = ${formula(program)}`].join("\n");
  }

  return {
    sketch,
    execute,
    executeFused,
    expectedLength,
    decode,
    encode,
    prune,
    evaluate,
    evaluateMany,
    length,
    formula,
    format,
  };
}
