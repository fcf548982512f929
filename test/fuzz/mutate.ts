// Grammar-aware mutations of sketch text for the fuzzer: token deletion, duplication and swaps,
// numbers replaced by extremes, identifiers renamed, fragments spliced between sketches, deep
// nesting, and random text and bytes. Case i of seed s is a pure function of (s, i), so any case
// can be replayed alone, and inputs are capped in size, so every case runs in bounded time.

import * as fs from "node:fs";
import * as path from "node:path";
import type { IToken } from "chevrotain";
import { sketchLexer } from "../../grammar/tokens.js";
import { createRng, deriveSeed, type Rng } from "../../runtime/random.js";

/** The largest input a case produces, in characters: the front end is linear in it. */
export const MAX_INPUT = 20_000;

/** Sketches written here to reach every construct the shipped ones do not use. */
const EXTRA_SEEDS: readonly string[] = [
  `sketch every {
  inputs 2;
  const two = 2;
  const m = -0.5;
  op div(a, b) = a / (b + 3) cost 2;
  op neg(a) = -a;
  op hyp(a, b) = sqrt(square(a) + square(b));
  op soft(a) = log(1 + exp(a)) * m;
  op curve(a) = tanh(a) + sigmoid(a) - relu(a) + abs(a) * 0.5;
  op clip(a, b, c) = min(a, b) - max(c, two) + 2;
  op skip(a) = a cost 0;
  straight lines 5 { arg 1: inputs, earlier; arg 2: consts, last 2; args: inputs, consts, earlier; }
  output line 4;
  prior length 1e-3;
}`,
  `sketch leafy {
  inputs 3;
  const k = 1.5;
  op add(a, b) = a + b;
  op mul(a, b) = a * b;
  op id(a) = a cost 0;
  tree depth 3 { leaves: inputs, consts; }
  output root;
}`,
];

/** The corpus: the shipped sketches, the emitter's samples and the extra seeds above. */
export function loadCorpus(root: string): string[] {
  const read = (dir: string, files: string[]) =>
    files.sort().map((f) => fs.readFileSync(path.join(dir, f), "utf8"));
  const sketches = path.join(root, "sketches");
  const samples = path.join(root, "test", "samples");
  return [
    ...read(
      sketches,
      fs.readdirSync(sketches).filter((f) => f.endsWith(".sketch")),
    ),
    ...read(
      samples,
      fs
        .readdirSync(samples)
        .filter((d) => fs.existsSync(path.join(samples, d, "input.sketch")))
        .map((d) => path.join(d, "input.sketch")),
    ),
    ...EXTRA_SEEDS,
  ];
}

/** A token with the text between it and the previous token (whitespace, comments). */
interface Piece {
  readonly gap: string;
  readonly image: string;
  readonly type: string;
}

/** Text -> pieces whose gaps and images concatenate back to the text (plus a trailing gap). */
function toPieces(text: string): { pieces: Piece[]; tail: string } {
  const tokens: IToken[] = sketchLexer.tokenize(text).tokens;
  const pieces: Piece[] = [];
  let at = 0;
  for (const t of tokens) {
    pieces.push({
      gap: text.slice(at, t.startOffset),
      image: t.image,
      type: t.tokenType.name,
    });
    at = t.endOffset! + 1;
  }
  return { pieces, tail: text.slice(at) };
}

function fromPieces(pieces: readonly Piece[], tail: string): string {
  return pieces.map((p) => p.gap + p.image).join("") + tail;
}

const piece = (image: string, type = "Mutant", gap = " "): Piece => ({
  gap,
  image,
  type,
});

/** Numbers at and around every limit, and the ones that break naive code. */
const EXTREME_NUMBERS = [
  "0",
  "-1",
  "-0",
  "1",
  "2",
  "3",
  "4",
  "0.5",
  "2.5",
  ".5",
  "5.",
  "16",
  "17",
  "32",
  "33",
  "64",
  "65",
  "999",
  "1000",
  "1001",
  "4096",
  "1e9",
  "1e308",
  "1e309",
  "-1e308",
  "1e-400",
  "5e-324",
  "4294967296",
  "9007199254740993",
  "99999999999999999999999999999999",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e",
  "0x10",
  "1_000",
];

/** Names that collide with keywords, reserved words, generated names and prototype keys. */
const HOSTILE_NAMES = [
  "inputs",
  "op",
  "last",
  "class",
  "undefined",
  "NaN",
  "tf",
  "scalar",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "x1",
  "w",
  "out",
  "sketch_",
  "min",
  "exp",
  "OP_NAMES",
  "l",
  "_",
  "a".repeat(300),
];

const TOKEN_VOCABULARY = [
  "sketch",
  "inputs",
  "const",
  "consts",
  "op",
  "cost",
  "straight",
  "lines",
  "tree",
  "depth",
  "args",
  "arg",
  "leaves",
  "earlier",
  "last",
  "output",
  "line",
  "root",
  "prior",
  "length",
  "{",
  "}",
  "(",
  ")",
  ";",
  ",",
  ":",
  "=",
  "+",
  "-",
  "*",
  "/",
  "a",
  "b",
  "1",
  "/*",
  "*/",
  "//",
];

/** Characters for random text: mostly the language's own, then whitespace, then anything. */
function randomChar(rng: Rng): string {
  const r = rng.next();
  if (r < 0.6) return rng.choice([..."abcxyz019.e+-*/(){};:,= \n"]);
  if (r < 0.7) return rng.choice(["\t", "\r", "\r\n", "\u00a0", "\u2028"]);
  if (r < 0.85) return String.fromCharCode(rng.int(128));
  if (r < 0.95) return String.fromCharCode(rng.int(0x10000)); // lone surrogates included
  return String.fromCodePoint(0x10000 + rng.int(0xfffff));
}

function randomText(rng: Rng, length: number): string {
  return Array.from({ length }, () => randomChar(rng)).join("");
}

/** A count for deep nesting: around the limits (32, 64) and far beyond them. */
function nestingCount(rng: Rng): number {
  return rng.choice([2, 10, 31, 32, 33, 40, 63, 64, 65, 100, 400, 3000]);
}

type Mutation = (pieces: Piece[], rng: Rng, corpus: readonly string[]) => void;

const at = (pieces: readonly Piece[], rng: Rng): number =>
  pieces.length === 0 ? 0 : rng.int(pieces.length);

const MUTATIONS: readonly (readonly [string, Mutation])[] = [
  [
    "delete",
    (p, rng) => {
      if (p.length > 0)
        p.splice(at(p, rng), 1 + (rng.next() < 0.2 ? rng.int(8) : 0));
    },
  ],
  [
    "duplicate",
    (p, rng) => {
      if (p.length === 0) return;
      const i = at(p, rng);
      const n = 1 + (rng.next() < 0.2 ? rng.int(20) : 0);
      const run = p.slice(i, i + n);
      p.splice(i, 0, ...run);
    },
  ],
  [
    "swap",
    (p, rng) => {
      if (p.length < 2) return;
      const i = at(p, rng);
      const j = rng.next() < 0.7 ? Math.min(p.length - 1, i + 1) : at(p, rng);
      [p[i], p[j]] = [
        { ...p[j], gap: p[i].gap },
        { ...p[i], gap: p[j].gap },
      ];
    },
  ],
  [
    "number",
    (p, rng) => {
      const numbers = p.flatMap((x, i) =>
        x.type === "NumberLiteral" ? [i] : [],
      );
      if (numbers.length === 0) return;
      const i = rng.choice(numbers);
      p[i] = { ...p[i], image: rng.choice(EXTREME_NUMBERS) };
    },
  ],
  [
    "rename",
    (p, rng) => {
      const names = [
        ...new Set(
          p.filter((x) => x.type === "Identifier").map((x) => x.image),
        ),
      ];
      if (names.length === 0) return;
      const from = rng.choice(names);
      const to =
        rng.next() < 0.5 ? rng.choice(HOSTILE_NAMES) : rng.choice(names);
      const all = rng.next() < 0.6;
      const hits = p.flatMap((x, i) => (x.image === from ? [i] : []));
      for (const i of all ? hits : [rng.choice(hits)])
        p[i] = { ...p[i], image: to };
    },
  ],
  [
    "splice",
    (p, rng, corpus) => {
      const other = toPieces(rng.choice(corpus)).pieces;
      if (other.length === 0) return;
      const from = at(other, rng);
      const fragment = other.slice(from, from + 1 + rng.int(30));
      const i = at(p, rng);
      p.splice(i, rng.next() < 0.5 ? 0 : rng.int(10), ...fragment);
    },
  ],
  [
    "nest",
    (p, rng) => {
      // Wrap the expression after an '=' (an operator body or a constant) in deep nesting.
      const equals = p.flatMap((x, i) => (x.image === "=" ? [i] : []));
      const i = equals.length > 0 ? rng.choice(equals) + 1 : at(p, rng);
      const n = nestingCount(rng);
      const kind = rng.int(5);
      const open = ["(", "-", "abs(", "-(", "sqrt(a * "][kind];
      const close = ["(", "abs(", "-(", "sqrt(a * "].includes(open) ? ")" : "";
      // The close goes before the ';' that ends the item, or is dropped (unbalanced) sometimes.
      let end = i;
      while (end < p.length && p[end].image !== ";") end++;
      if (close && rng.next() < 0.9)
        p.splice(end, 0, piece(close.repeat(n), "Mutant", ""));
      p.splice(i, 0, piece(open.repeat(n)));
    },
  ],
  [
    "chain",
    (p, rng) => {
      const equals = p.flatMap((x, i) => (x.image === "=" ? [i] : []));
      if (equals.length === 0) return;
      const i = rng.choice(equals) + 1;
      const op = rng.choice([" + a", " * b", " / a", " - -a", ", a"]);
      p.splice(i + 1, 0, piece(op.repeat(nestingCount(rng)), "Mutant", ""));
    },
  ],
  [
    "repeat-item",
    (p, rng) => {
      // Repeat a whole item (up to its ';') many times: too many operators, constants, scopes.
      const semis = p.flatMap((x, i) => (x.image === ";" ? [i] : []));
      if (semis.length < 2) return;
      const k = rng.int(semis.length - 1);
      const item = p.slice(semis[k] + 1, semis[k + 1] + 1);
      const n = rng.choice([2, 63, 64, 65, 70]);
      const copies = Array.from({ length: n }, (_, c) =>
        item.map((x) =>
          x.type === "Identifier" && rng.next() < 0.5
            ? { ...x, image: `${x.image}${c}` }
            : x,
        ),
      ).flat();
      p.splice(semis[k + 1] + 1, 0, ...copies);
    },
  ],
  [
    "insert",
    (p, rng) => {
      p.splice(at(p, rng), 0, piece(rng.choice(TOKEN_VOCABULARY)));
    },
  ],
  [
    "bytes",
    (p, rng) => {
      p.splice(
        at(p, rng),
        0,
        piece(randomText(rng, 1 + rng.int(12)), "Mutant", ""),
      );
    },
  ],
  [
    "truncate",
    (p, rng) => {
      p.length = at(p, rng);
    },
  ],
];

const SEMANTIC = MUTATIONS.filter(([name]) =>
  ["number", "rename", "repeat-item", "chain", "nest"].includes(name),
);

/** The names of the mutations, for the summary. */
export const MUTATION_NAMES: readonly string[] = [
  ...MUTATIONS.map(([name]) => name),
  "random-text",
];

export interface FuzzCase {
  readonly index: number;
  readonly text: string;
  /** The mutations applied, in order ("random-text" for a case of pure random text). */
  readonly mutations: readonly string[];
}

/**
 * Case `index` of `seed`: one to four mutations of a corpus sketch, or (one case in twenty)
 * random text. Deterministic in (seed, index); the text is at most MAX_INPUT characters.
 */
export function createCase(
  corpus: readonly string[],
  seed: number,
  index: number,
): FuzzCase {
  const rng = createRng(deriveSeed(seed, index));
  if (rng.next() < 0.05) {
    const text = randomText(rng, rng.int(400));
    return { index, text, mutations: ["random-text"] };
  }
  const { pieces, tail } = toPieces(rng.choice(corpus));
  const applied: string[] = [];
  const count = rng.choice([1, 1, 1, 2, 2, 3, 4]);
  for (let k = 0; k < count; k++) {
    // Half the mutations keep the syntax (numbers, names, repeated items), so many mutants get
    // past the parser into the checker, the lowering and the emitter.
    const [name, mutate] =
      rng.next() < 0.5 ? rng.choice(SEMANTIC) : rng.choice(MUTATIONS);
    mutate(pieces, rng, corpus);
    applied.push(name);
  }
  const text = fromPieces(pieces, tail).slice(0, MAX_INPUT);
  return { index, text, mutations: applied };
}
