// A synthesized expression in the sketch's formula syntax, `(s1 + s2) * s3`: the expression placed
// in the sketch's program space (domains/embed.ts) and printed by the module's own `formula`.
// An expression the sketch cannot hold (too many lines, too deep) prints in the expression syntax.

import * as tf from "@tensorflow/tfjs-core";
import {
  choicesToParams,
  createProgramSpace,
  placeExpr,
} from "../domains/embed.js";
import { formatExpr, languageOf, type Expr } from "../domains/expression.js";
import type { SketchModule } from "../sketch-module.js";

/** The formula of `e` as the module prints it, and whether the sketch can express `e`. */
export function formulaOf(
  module: SketchModule,
  e: Expr,
): { formula: string; expressible: boolean } {
  const language = languageOf(module);
  const choices = placeExpr(createProgramSpace(module, language), e);
  if (choices === undefined)
    return { formula: formatExpr(language, e), expressible: false };
  const m = module as SketchModule<unknown>;
  const z = choicesToParams(createProgramSpace(module, language), [choices]);
  const program = m.decode(z)[0];
  Object.values(z).forEach((t: tf.Tensor) => t.dispose());
  return { formula: m.formula(program), expressible: true };
}
