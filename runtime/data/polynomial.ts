// Canonical polynomial form of a task formula, used to decide when two formulas are the
// same task: with integer coefficients over s1..sV, two formulas compute the same function
// on all of R^V exactly when their expanded polynomials are equal.

import type { Formula } from "./formula.js";

/**
 * A polynomial as a map from monomial key to nonzero integer coefficient; the key is the
 * exponent vector joined by commas, e.g. `2,0,1` for s1^2 * s3 (with V = 3).
 */
export type Polynomial = ReadonlyMap<string, number>;

function monomialKey(exponents: readonly number[]): string {
  return exponents.join(",");
}

function parseMonomial(key: string): number[] {
  return key.split(",").map(Number);
}

function addInto(
  into: Map<string, number>,
  key: string,
  coefficient: number,
): void {
  const sum = (into.get(key) ?? 0) + coefficient;
  if (sum === 0) into.delete(key);
  else into.set(key, sum);
}

function combine(a: Polynomial, b: Polynomial, sign: 1 | -1): Polynomial {
  const out = new Map(a);
  for (const [k, c] of b) addInto(out, k, sign * c);
  return out;
}

function multiply(a: Polynomial, b: Polynomial): Polynomial {
  const out = new Map<string, number>();
  for (const [ka, ca] of a) {
    const ea = parseMonomial(ka);
    for (const [kb, cb] of b) {
      const eb = parseMonomial(kb);
      addInto(out, monomialKey(ea.map((e, i) => e + eb[i])), ca * cb);
    }
  }
  return out;
}

/** Expands `f` over `numSymbols` variables into its polynomial (zero terms dropped). */
export function toPolynomial(f: Formula, numSymbols: number): Polynomial {
  switch (f.kind) {
    case "sym": {
      const exponents = new Array<number>(numSymbols).fill(0);
      exponents[f.index] = 1;
      return new Map([[monomialKey(exponents), 1]]);
    }
    case "bin": {
      const a = toPolynomial(f.left, numSymbols);
      const b = toPolynomial(f.right, numSymbols);
      switch (f.op) {
        case "+":
          return combine(a, b, 1);
        case "-":
          return combine(a, b, -1);
        case "*":
          return multiply(a, b);
      }
    }
  }
}

/** A string equal for two polynomials iff they are equal: the sorted `monomial:coefficient` terms. */
export function polynomialKey(p: Polynomial): string {
  return [...p.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, c]) => `${k}:${c}`)
    .join(" ");
}

/** True when `p` has no term other than the constant one (here: the zero polynomial). */
export function isConstant(p: Polynomial): boolean {
  return [...p.keys()].every((k) => parseMonomial(k).every((e) => e === 0));
}
