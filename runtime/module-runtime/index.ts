// `sketchc/module-runtime`: the code every module that sketchc generates shares, imported by the
// module rather than copied into it. A generated module holds only what depends on its sketch (the
// tables and the operator bodies) and passes them to `straightSketch` or `treeSketch`.

export {
  MODULE_FORMAT,
  scopeRows,
  type Constant,
  type HeadInfo,
  type Interval,
  type Params,
  type Scope,
  type SketchInfo,
  type SketchSpec,
  type Symbols,
} from "./common.js";
export { fmt, type BinaryOperator, type Fmt } from "./formula.js";
export { SAFE, scalar, tensor } from "./safe.js";
export {
  straightSketch,
  type FusedLine,
  type FusedLineBackward,
  type StraightLine,
  type StraightProgram,
  type StraightSketch,
  type StraightSpec,
} from "./straight.js";
export {
  treeSketch,
  type TreeProgram,
  type TreeSketch,
  type TreeSpec,
} from "./tree.js";
