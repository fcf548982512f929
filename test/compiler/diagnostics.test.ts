// Diagnostics: one test per code of the MESSAGES table (code, line, column, message), error
// recovery, the printed baseline with its underline, phase ordering, the shipped sketches, and
// names that must not reach the emitted module as code.

import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checkSource,
  compileSketch,
  typeCheckModule,
} from "../../compiler/compile.js";
import {
  formatDiagnostic,
  MESSAGES,
  type Diagnostic,
  type DiagnosticCode,
} from "../../compiler/diagnostics.js";
import { LIMITS, reservedReason } from "../../compiler/check.js";

const SKETCHES = path.resolve(import.meta.dirname, "../../sketches");

/** A sketch with one line per entry, so each case's line numbers are easy to read. */
function lines(...body: string[]): string {
  return ["sketch s {", ...body.map((l) => `  ${l}`), "}"].join("\n");
}

const OP = "op add(a, b) = a + b;";
const MODEL = "straight lines 4 { }";

interface Case {
  readonly code: DiagnosticCode;
  readonly input: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** One row per diagnostic code: the first diagnostic with that code must sit at line:column. */
const CASES: readonly Case[] = [
  {
    code: "SK101",
    input: lines("inputs 3 #;", OP, MODEL),
    line: 2,
    column: 12,
    message: "Invalid character '#'.",
  },
  {
    code: "SK102",
    input: lines("inputs 3;", "/* never closed", OP, MODEL),
    line: 3,
    column: 3,
    message: "Unterminated block comment.",
  },
  {
    code: "SK103",
    input: lines("inputs 3", OP, MODEL),
    line: 3,
    column: 3,
    message: "Expected ';' but found 'op'.",
  },
  {
    code: "SK104",
    input: lines(
      "inputs 3;",
      `op f(a) = ${"(".repeat(65)}a${")".repeat(65)};`,
      MODEL,
    ),
    line: 3,
    column: 77,
    message:
      "Expression nested too deeply (more than 64 parentheses and minuses).",
  },
  {
    code: "SK201",
    input: lines("inputs 3;", "op add(a, b) = a + b * c;", MODEL),
    line: 3,
    column: 26,
    message: "Unknown name 'c' in the body of operator 'add'.",
  },
  {
    code: "SK202",
    input: lines("inputs 3;", OP, "op add(a, b) = a * b;", MODEL),
    line: 4,
    column: 6,
    message: "Duplicate operator 'add'.",
  },
  {
    code: "SK203",
    input: lines("inputs 3;", "op add(a, a) = a + a;", MODEL),
    line: 3,
    column: 13,
    message: "Duplicate parameter 'a' in operator 'add'.",
  },
  {
    code: "SK204",
    input: lines("inputs 3;", "op f(a) = cos(a);", MODEL),
    line: 3,
    column: 13,
    message: "Unknown function 'cos'. Known functions: min, max",
  },
  {
    code: "SK205",
    input: lines("inputs 3;", "op f(a) = max(a);", MODEL),
    line: 3,
    column: 13,
    message: "Function 'max' takes 2 argument(s), but 1 were given.",
  },
  {
    code: "SK206",
    input: lines("inputs 2.5;", OP, MODEL),
    line: 2,
    column: 10,
    message: "The number of inputs must be a positive integer, but is 2.5.",
  },
  {
    code: "SK207",
    input: lines("inputs 3;", OP, "straight lines 5000 { }"),
    line: 4,
    column: 18,
    message: "The number of lines is 5000, which is too large (at most 1000).",
  },
  {
    code: "SK208",
    input: lines("inputs 3;", OP, "straight lines 4 { args: earlier; }"),
    line: 4,
    column: 22,
    message: "Empty scope: argument 1 of line 1 can read no slot.",
  },
  {
    code: "SK209",
    input: lines("inputs 3;", MODEL),
    line: 1,
    column: 8,
    message: "Sketch 's' declares no operators.",
  },
  {
    code: "SK210",
    input: lines("inputs 3;", "op class(a) = a;", MODEL),
    line: 3,
    column: 6,
    message:
      "'class' cannot be used as a name: it is a JavaScript reserved word.",
  },
  {
    code: "SK211",
    input: lines("inputs 3;", "const k = 1;", "op f(k) = k;", MODEL),
    line: 4,
    column: 8,
    message: "'k' is already declared as a constant.",
  },
  {
    code: "SK212",
    input: lines("inputs 3;", "op f(a, b, c, d) = a + b + c + d;", MODEL),
    line: 3,
    column: 6,
    message: "Operator 'f' has 4 parameters; operators take 1 to 3.",
  },
  {
    code: "SK213",
    input: lines(OP, MODEL),
    line: 1,
    column: 8,
    message: "Sketch 's' is missing an 'inputs N;' declaration.",
  },
  {
    code: "SK214",
    input: lines("inputs 3;", OP, MODEL, "output last;", "output line 2;"),
    line: 6,
    column: 3,
    message:
      "Duplicate 'output' declaration: it was already declared at line 5.",
  },
  {
    code: "SK215",
    input: lines("inputs 3;", OP, MODEL, "output line 7;"),
    line: 5,
    column: 15,
    message: "Output line 7 is out of range: the sketch has lines 1 to 4.",
  },
  {
    code: "SK216",
    input: lines(
      "inputs 3;",
      OP,
      "tree depth 2 { leaves: inputs; }",
      "output last;",
    ),
    line: 5,
    column: 3,
    message: "'output last' is not valid in a tree sketch",
  },
  {
    code: "SK217",
    input: lines("inputs 3;", OP, MODEL, "prior length -0.1;"),
    line: 5,
    column: 16,
    message:
      "The length-prior weight must be a finite number >= 0, but is -0.1.",
  },
  {
    code: "SK219",
    input: lines("inputs 3;", OP, "straight lines 4 { arg 3: inputs; }"),
    line: 4,
    column: 26,
    message:
      "'arg 3' is out of range: the operators take at most 2 argument(s).",
  },
  {
    code: "SK220",
    input: lines("inputs 3;", "const big = 1e400;", OP, MODEL),
    line: 3,
    column: 15,
    message: "Number '1e400' is not finite.",
  },
  {
    code: "SK221",
    input: lines("inputs 3;", "op first(a, b) = a;", MODEL),
    line: 3,
    column: 15,
    message: "Parameter 'b' of operator 'first' is never used.",
  },
  {
    code: "SK222",
    input: lines(
      "inputs 3;",
      OP,
      "straight lines 4 { args: inputs, earlier, inputs; }",
    ),
    line: 4,
    column: 45,
    message: "Scope item 'inputs' is listed twice.",
  },
  {
    code: "SK223",
    input: lines("inputs 3;", `op f(a) = a${" + a".repeat(33)};`, MODEL),
    line: 3,
    column: 13,
    message: "The body of operator 'f' is 33 operations deep (at most 32).",
  },
  {
    code: "SK224",
    input: lines(
      "inputs 3;",
      ...Array.from(
        { length: 5 },
        (_, i) => `op f${i}(a) = a${" * a".repeat(24)};`,
      ),
      MODEL,
    ),
    line: 6,
    column: 6,
    message:
      "Operator 'f3' makes the bodies too large to compile (weight above 2000).",
  },
];

function diagnose(input: string): readonly Diagnostic[] {
  return checkSource(input, "t.sketch").diagnostics;
}

describe("one test per diagnostic code", () => {
  it.each(CASES)(
    "$code at $line:$column",
    ({ code, input, line, column, message }) => {
      const found = diagnose(input).find((d) => d.code === code);
      expect(
        found,
        `no ${code} in ${JSON.stringify(diagnose(input))}`,
      ).toBeDefined();
      expect(found!.span).toMatchObject({ line, column });
      expect(found!.message).toContain(message);
      expect(found!.severity).toBe(MESSAGES[code].severity);
      expect(found!.file).toBe("t.sketch");
    },
  );

  it("every code in MESSAGES has a case", () => {
    const tested = new Set(CASES.map((c) => c.code));
    expect(
      Object.keys(MESSAGES).filter(
        (code) => !tested.has(code as DiagnosticCode),
      ),
    ).toEqual([]);
    expect(CASES.length).toBe(Object.keys(MESSAGES).length);
  });

  it("each case reports only its own code (and warnings are the only diagnostics of theirs)", () => {
    for (const c of CASES) {
      const codes = new Set(diagnose(c.input).map((d) => d.code));
      // SK101 and SK102 leave a token out, which the parser then reports as SK103 too.
      const allowed = c.code === "SK101" || c.code === "SK102" ? ["SK103"] : [];
      expect(
        [...codes].filter((k) => k !== c.code && !allowed.includes(k)),
      ).toEqual([]);
    }
  });

  it("warnings alone do not stop compilation", async () => {
    const warning = CASES.find((c) => c.code === "SK221")!;
    const result = await compileSketch(warning.input, "t.sketch");
    expect(result.diagnostics.map((d) => d.severity)).toEqual(["warning"]);
    expect(result.typescript).toContain("export function execute(");
  });
});

describe("more checks", () => {
  it.each([
    { what: "inputs 0", input: lines("inputs 0;", OP, MODEL), code: "SK206" },
    {
      what: "negative lines",
      input: lines("inputs 3;", OP, "straight lines -2 { }"),
      code: "SK206",
    },
    {
      what: "too many inputs",
      input: lines(`inputs ${LIMITS.inputs + 1};`, OP, MODEL),
      code: "SK207",
    },
    {
      what: "a deep tree",
      input: lines("inputs 3;", OP, "tree depth 17 { }"),
      code: "SK207",
    },
    {
      what: "too many tree leaves",
      input: lines(
        "inputs 3;",
        "op f(a, b, c) = a + b + c;",
        "tree depth 8 { }",
      ),
      code: "SK207",
    },
    {
      what: "an operator without parameters",
      input: lines("inputs 3;", "op one() = 1;", MODEL),
      code: "SK212",
    },
    { what: "a missing model", input: lines("inputs 3;", OP), code: "SK213" },
    {
      what: "two models",
      input: lines("inputs 3;", OP, MODEL, "tree depth 2 { }"),
      code: "SK214",
    },
    {
      what: "the same scope twice",
      input: lines(
        "inputs 3;",
        OP,
        "straight lines 2 { args: inputs; args: inputs; }",
      ),
      code: "SK214",
    },
    {
      what: "'earlier' in a tree",
      input: lines("inputs 3;", OP, "tree depth 2 { leaves: earlier; }"),
      code: "SK216",
    },
    {
      what: "'args' in a tree",
      input: lines("inputs 3;", OP, "tree depth 2 { args: inputs; }"),
      code: "SK216",
    },
    {
      what: "output root of straight lines",
      input: lines("inputs 3;", OP, MODEL, "output root;"),
      code: "SK216",
    },
    {
      what: "a negative cost",
      input: lines("inputs 3;", "op f(a) = a cost -1;", MODEL),
      code: "SK217",
    },
    {
      what: "a tree leaf with no slot",
      input: lines("inputs 3;", OP, "tree depth 2 { leaves: consts; }"),
      code: "SK208",
    },
    {
      what: "a keyword-like name reserved by the module",
      input: lines("inputs 3;", "op tf(a) = a;", MODEL),
      code: "SK210",
    },
    {
      what: "a name starting with __",
      input: lines("inputs 3;", "const __x = 1;", OP, MODEL),
      code: "SK210",
    },
    {
      what: "a duplicate constant",
      input: lines("inputs 3;", "const k = 1;", "const k = 2;", OP, MODEL),
      code: "SK211",
    },
  ])("$what: $code", ({ input, code }) => {
    expect(diagnose(input).map((d) => d.code)).toContain(code);
  });
});

/** The codes and positions of a run: the limits below must each give one located diagnostic. */
function located(input: string): string[] {
  return diagnose(input).map(
    (d) => `${d.code} ${d.span.line}:${d.span.column}`,
  );
}

describe("limits: user input never throws", () => {
  const body = (expr: string) =>
    lines("inputs 2;", `op f(a) = ${expr};`, MODEL);

  it.each([
    { what: "3000 nested parentheses", open: "(", close: ")", column: 77 },
    { what: "3000 unclosed parentheses", open: "(", close: "", column: 77 },
    { what: "3000 nested calls", open: "abs(", close: ")", column: 272 },
    { what: "3000 unary minuses", open: "-", close: "", column: 77 },
    { what: "alternating minus and '('", open: "-(", close: ")", column: 77 },
  ])(
    "$what: SK104 at the token that opens level 65",
    ({ open, close, column }) => {
      const input = body(`${open.repeat(3000)}a${close.repeat(3000)}`);
      expect(located(input)).toEqual([`SK104 3:${column}`]);
    },
  );

  it("64 levels parse; a binary minus or a minus after ')' opens none", () => {
    expect(located(body(`${"(".repeat(64)}a${")".repeat(64)}`))).toEqual([]);
    expect(located(body(`${"-".repeat(32)}a`))).toEqual([]);
    const chain = Array.from({ length: 10 }, () => "(a) - -a").join(" - ");
    expect(located(body(chain))).toEqual([]);
    // 64 unary minuses parse, but as a body they are 64 operations deep.
    expect(located(body(`${"-".repeat(64)}a`))).toEqual(["SK223 3:45"]);
  });

  it("a chain of 10,000 operators is SK223, not a stack overflow", () => {
    expect(located(body(`a${" + a".repeat(10_000)}`))).toEqual(["SK223 3:13"]);
  });

  it("nested abs compiles to a small module (its derivative is linear in size)", async () => {
    const result = await compileSketch(
      body(`${"abs(".repeat(12)}a${")".repeat(12)}`),
      "t.sketch",
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.typescript!.length).toBeLessThan(100_000);
  });

  it.each([
    ["inputs 1e9;", "The number of inputs is 1e9"],
    ["inputs 4294967296;", "The number of inputs is 4294967296"],
    ["inputs 1e308;", "The number of inputs is 1e308"],
    ["inputs 99999999999999999999999;", "The number of inputs is 9999"],
  ])("%s is SK207 at once, before any slot is enumerated", (decl, message) => {
    const input = lines(
      decl,
      OP,
      "straight lines 1000 { args: inputs, earlier; }",
      "output line 1000;",
    );
    const started = performance.now();
    const d = diagnose(input);
    // Generous: the bug this guards against took seconds and then threw.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(d.map((x) => `${x.code} ${x.span.line}:${x.span.column}`)).toEqual([
      "SK207 2:10",
    ]);
    expect(d[0].message).toContain(message);
  });

  it("absurd counts in a tree and in every other count are one SK207 each", () => {
    const tree = lines("inputs 1e9;", OP, "tree depth 1e9 { leaves: inputs; }");
    expect(located(tree)).toEqual(["SK207 2:10", "SK207 4:14"]);
    const straight = lines(
      "inputs 2;",
      OP,
      "straight lines 4 { arg 4294967296: inputs; args: last 1e9; }",
      "output line 1e300;",
    );
    expect(located(straight)).toEqual([
      "SK207 4:26",
      "SK207 4:57",
      "SK207 5:15",
    ]);
  });
});

describe("error recovery and phases", () => {
  it("reports several syntax errors in one run, in source order", () => {
    const input = lines(
      "inputs 3",
      "op add(a, b) = a + ;",
      "straight lines { }",
      "output;",
    );
    const found = diagnose(input).map((d) => [
      d.code,
      d.span.line,
      d.span.column,
    ]);
    expect(found).toEqual([
      ["SK103", 3, 3],
      ["SK103", 3, 22],
      ["SK103", 4, 18],
      ["SK103", 5, 9],
    ]);
  });

  it("reports several semantic errors in one run", () => {
    const input = lines(
      "inputs 0;",
      "op add(a, b) = a * b + c;",
      "op add(a) = a;",
      "straight lines 4 { leaves: inputs; }",
      "prior length -1;",
    );
    expect(diagnose(input).map((d) => d.code)).toEqual([
      "SK206",
      "SK201",
      "SK202",
      "SK216",
      "SK217",
    ]);
  });

  it("keeps one error per position", () => {
    const found = diagnose("sketch s { inputs 3 # # }");
    const starts = found.map((d) => d.span.start);
    expect(new Set(starts).size).toBe(starts.length);
  });

  it("does not check a sketch that failed to parse", () => {
    // `c` is an unknown name (SK201), but the syntax error stops the pipeline first.
    const found = diagnose(lines("inputs 3", "op add(a, b) = a + c;", MODEL));
    expect(found.map((d) => d.code)).toEqual(["SK103"]);
  });

  it("does not lower or emit a sketch with check errors", async () => {
    const result = await compileSketch(
      lines("inputs 3;", "op f(a) = a * b;", MODEL),
      "t.sketch",
    );
    expect(result.diagnostics.map((d) => d.code)).toEqual(["SK201"]);
    expect(result.ir).toBeUndefined();
    expect(result.typescript).toBeUndefined();
  });

  it("reports a syntax error at the end of the file with a real position", () => {
    const found = diagnose("sketch s {\n  inputs 3;\n");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      code: "SK103",
      span: { line: 3, column: 1 },
    });
    expect(found[0].message).toBe("Expected '}' but found end of file.");
  });
});

describe("printed form", () => {
  it("is file(line,col): error SKnnn: message, the source line and a ~ underline", () => {
    const input = lines("inputs 3;", "op add(a, b) = a + b * cc;", MODEL);
    const [d] = diagnose(input);
    expect(formatDiagnostic(d, input)).toBe(
      [
        "t.sketch(3,26): error SK201: Unknown name 'cc' in the body of operator 'add'.",
        "",
        "3 |   op add(a, b) = a + b * cc;",
        "  |                          ~~",
        "",
      ].join("\n"),
    );
  });

  it("underlines the whole node and prints warnings as warnings", () => {
    const input = lines(
      "inputs 3;",
      OP,
      "straight lines 4 { args: inputs, earlier, inputs; }",
      "output constructor;",
    );
    const printed = checkSource(input, "dir/w.sketch").diagnostics.map((d) =>
      formatDiagnostic(d, input),
    );
    expect(printed.join("\n")).toMatchInlineSnapshot(`
      "dir/w.sketch(5,10): error SK103: Unexpected 'constructor' in an output declaration (expected last, root or line N).

      5 |   output constructor;
        |          ~~~~~~~~~~~
      "
    `);
    const warned = lines(
      "inputs 3;",
      OP,
      "straight lines 4 { args: inputs, earlier, inputs; }",
    );
    const [w] = diagnose(warned);
    expect(formatDiagnostic(w, warned)).toBe(
      [
        "t.sketch(4,45): warning SK222: Scope item 'inputs' is listed twice.",
        "",
        "4 |   straight lines 4 { args: inputs, earlier, inputs; }",
        "  |                                             ~~~~~~",
        "",
      ].join("\n"),
    );
  });

  it("clips the underline of a multi-line node to its first line", () => {
    const input = lines(
      "inputs 3;",
      OP,
      "straight lines 4 {",
      "  args: earlier;",
      "}",
    );
    const [d] = diagnose(input);
    expect(d.code).toBe("SK208");
    expect(formatDiagnostic(d, input).split("\n").slice(2, 4)).toEqual([
      "5 |     args: earlier;",
      "  |     ~~~~~~~~~~~~~~",
    ]);
  });

  it("without the source is one line", () => {
    const [d] = diagnose(lines("inputs 3;", MODEL));
    expect(formatDiagnostic(d)).toBe(
      "t.sketch(1,8): error SK209: Sketch 's' declares no operators.",
    );
  });
});

describe("the shipped sketches", () => {
  const files = fs.readdirSync(SKETCHES).filter((f) => f.endsWith(".sketch"));

  it("are all here", () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
  });

  it.each(files)("%s checks with no diagnostics", (file) => {
    const text = fs.readFileSync(path.join(SKETCHES, file), "utf8");
    expect(
      checkSource(text, file).diagnostics.map((d) => formatDiagnostic(d, text)),
    ).toEqual([]);
  });
});

describe("names cannot inject code", () => {
  it.each([
    "class",
    "function",
    "eval",
    "arguments",
    "undefined",
    "constructor",
    "__proto__",
    "prototype",
    "hasOwnProperty",
    "tf",
    "Math",
    "scalar",
    "tensor",
    "fmt",
    "__anything",
  ])(
    "'%s' is rejected as an operator, a parameter, a constant and a sketch name",
    (name) => {
      expect(reservedReason(name)).toBeDefined();
      const asOp = lines("inputs 3;", `op ${name}(a) = a;`, MODEL);
      const asParam = lines("inputs 3;", `op f(${name}) = ${name};`, MODEL);
      const asConst = lines("inputs 3;", `const ${name} = 1;`, OP, MODEL);
      const asSketch = `sketch ${name} { inputs 3; ${OP} ${MODEL} }`;
      for (const input of [asOp, asParam, asConst, asSketch]) {
        expect(diagnose(input).map((d) => d.code)).toContain("SK210");
      }
    },
  );

  it.each(["sketch", "inputs", "lines", "output", "consts", "cost"])(
    "the keyword '%s' is not a name",
    (name) => {
      const found = diagnose(lines("inputs 3;", `op ${name}(a) = a;`, MODEL));
      expect(found[0]).toMatchObject({
        code: "SK103",
        span: { line: 3, column: 6 },
      });
      expect(found.every((d) => d.code === "SK103")).toBe(true);
    },
  );

  describe("a hostile-looking sketch", () => {
    const hostile = [
      "// import fs from 'fs'; fs.rmSync('/')",
      "sketch require {",
      "  inputs 2;",
      "  const process = 1;",
      "  op globalThis(window, document) = window /* ; process.exit(1); */ + document;",
      "  op exit(x) = x * process // */ require('child_process')",
      "    ;",
      "  straight lines 2 { args: inputs, consts, earlier; }",
      "}",
    ].join("\n");
    let typescript = "";

    beforeAll(async () => {
      const result = await compileSketch(hostile, "hostile.sketch");
      expect(result.diagnostics).toEqual([]);
      typescript = result.typescript!;
    });

    it("compiles to a module that imports only tfjs-core and the runtime library", () => {
      const imports = [
        ...typescript.matchAll(/\bfrom "([^"]*)"|\b(?:require|import)\(/g),
      ].map((m) => m[1] ?? m[0]);
      expect(imports).toEqual([
        "@tensorflow/tfjs-core",
        "sketchc/module-runtime",
      ]);
    });

    it("carries none of the comment text as code", () => {
      for (const bad of [
        "process.exit",
        "child_process",
        "rmSync",
        "from 'fs'",
      ]) {
        expect(typescript).not.toContain(bad);
      }
      // The names appear only as keys, parameters, strings and comments.
      expect(typescript).toContain(
        "globalThis: (window: number, document: number): number =>",
      );
      expect(typescript).toContain('{ name: "process", value: 1 }');
    });

    it("type-checks", () => {
      expect(typeCheckModule(typescript, "hostile")).toEqual([]);
    });
  });
});
