// Flag values of every sketchc command, checked one way: a bad value is a CliError naming the flag,
// what it must be and what was given.

import { CliError } from "./main.js";

/** `--NAME N`: an integer >= min, or `fallback` when absent. */
export function intFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 1,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(
      `--${name} must be an integer >= ${min}, got '${value}'`,
    );
  return n;
}

/** `--NAME X`: a finite number >= 0, or `fallback` when absent. */
export function numFlag<F extends number | undefined>(
  name: string,
  value: string | undefined,
  fallback: F,
): number | F {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new CliError(`--${name} must be a number >= 0, got '${value}'`);
  return n;
}

/** `--NAME X`: a share in [0, 1], or `fallback` when absent. */
export function shareFlag(
  name: string,
  value: string | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= 1))
    throw new CliError(
      `--${name} must be a share between 0 and 1, got '${value}'`,
    );
  return n;
}

/** `--weight-average D`: a decay in [0, 1) (0: off), or `fallback` when absent. */
export function decayFlag(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n < 1))
    throw new CliError(
      `--weight-average must be a decay in [0, 1) (0: off; e.g. 0.99), got '${value}'`,
    );
  return n;
}

/** `--NAME V`: one of `choices`, or `fallback` when absent. */
export function choiceFlag<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value))
    throw new CliError(
      `--${name} must be one of ${choices.join(", ")}, got '${value}'`,
    );
  return value as T;
}
