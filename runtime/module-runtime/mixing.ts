// The argument mixing of the fused straight-line interpreter (Fig. 3: an argument of line l is
// the z-weighted sum of the slots in its window), for every task at once, and its gradient.
// The loops below are the reference; sketchc's runtime may install the same loops compiled
// natively and threaded over tasks (runtime/kernels/native.ts, native/blas.cc), which give the
// same bits. The hand-over goes through a global symbol, not an import, so that a generated
// module, whichever copy of this library it loaded, sees what the runtime installed.

/** The mixing loops over all tasks t, for argument i of line l reading slots [from, to). */
export interface ArgumentMixer {
  /** args[t, l, i, :] += sum over j of z[t, l, j] * values[t, j, :]. */
  mixArgs(
    values: Float64Array,
    z: Float32Array,
    args: Float64Array,
    T: number,
    S: number,
    B: number,
    L: number,
    LINES: number,
    A: number,
    i: number,
    l: number,
    from: number,
    to: number,
  ): void;
  /** dz[t, l, j] += sum over b of dArgs[t, i, b] * values[t, j, b]; dValues[t, j, b] += dArgs[t, i, b] * z[t, l, j]. */
  mixArgsGrad(
    values: Float64Array,
    z: Float32Array,
    dArgs: Float64Array,
    dValues: Float64Array,
    dz: Float64Array,
    T: number,
    S: number,
    B: number,
    L: number,
    A: number,
    i: number,
    l: number,
    from: number,
    to: number,
  ): void;
}

/** The loops in JavaScript. */
export const javascriptMixer: ArgumentMixer = {
  mixArgs(values, z, args, T, S, B, L, LINES, A, i, l, from, to) {
    for (let t = 0; t < T; t++) {
      const x = ((t * LINES + l) * A + i) * B;
      const row = (t * L + l) * S;
      const v = t * S * B;
      for (let j = from; j < to; j++) {
        const zj = z[row + j];
        const slot = v + j * B;
        for (let b = 0; b < B; b++) args[x + b] += zj * values[slot + b];
      }
    }
  },
  mixArgsGrad(values, z, dArgs, dValues, dz, T, S, B, L, A, i, l, from, to) {
    for (let t = 0; t < T; t++) {
      const gx = (t * A + i) * B;
      const row = (t * L + l) * S;
      const v = t * S * B;
      for (let j = from; j < to; j++) {
        const zj = z[row + j];
        const slot = v + j * B;
        let dzj = 0;
        for (let b = 0; b < B; b++) {
          const g = dArgs[gx + b];
          dzj += g * values[slot + b];
          dValues[slot + b] += g * zj;
        }
        dz[row + j] += dzj;
      }
    }
  },
};

const INSTALLED = Symbol.for("sketchc.argumentMixer");

/** The mixer in use: the installed one, else the JavaScript loops. */
export function argumentMixer(): ArgumentMixer {
  return (
    ((globalThis as Record<symbol, unknown>)[INSTALLED] as
      ArgumentMixer | undefined) ?? javascriptMixer
  );
}

/** Installs `mixer` for every copy of this library in the process (undefined: back to JavaScript). */
export function installArgumentMixer(mixer: ArgumentMixer | undefined): void {
  (globalThis as Record<symbol, unknown>)[INSTALLED] = mixer;
}
