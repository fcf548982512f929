// `sketchc fmt`: --check exit statuses and the files it lists, rewriting (atomic, nothing left
// behind), files with syntax errors left alone, standard input, and the shipped sketches already
// in the canonical layout (the CI check `sketchc fmt --check sketches/*.sketch`).

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
  vi,
} from "vitest";
import { CliError, main } from "../../cli/main.js";
import { PACKAGE_ROOT } from "../../compiler/compile.js";
import { ensureBuilt, SKETCHC_BIN } from "../built-binary.js";

const FORMATTED = `// a formatted sketch
sketch good {
  inputs 2;
  op add(a, b) = a + b; // sum
  straight lines 3 { }
}
`;
const MESSY = `// a formatted sketch
sketch good{inputs 2;
    op add(a,b)=a+b;   // sum
  straight lines 3 {}}`;
const BROKEN = `sketch bad { inputs 2 op add(a, b) = a + b; }\n`;

let dir = "";
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-fmt-"));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation(
    (c: string | Uint8Array) => {
      stdout += String(c);
      return true;
    },
  );
  vi.spyOn(process.stderr, "write").mockImplementation(
    (c: string | Uint8Array) => {
      stderr += String(c);
      return true;
    },
  );
  try {
    const status = await main(argv).catch((e: unknown) => {
      if (e instanceof CliError) {
        stderr += `sketchc: error: ${e.message}\n`;
        return e.exitCode;
      }
      throw e;
    });
    return { status, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe("sketchc fmt", () => {
  it("--check: 0 and silent when every file is formatted", async () => {
    const f = file("ok.sketch", FORMATTED);
    expect(await run(["fmt", "--check", f])).toEqual({
      status: 0,
      stdout: "",
      stderr: "",
    });
  });

  it("--check: 1, lists the files that would change, rewrites nothing", async () => {
    const ok = file("ok.sketch", FORMATTED);
    const messy = file("messy.sketch", MESSY);
    const r = await run(["fmt", "--check", ok, messy]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(`${messy}\n`);
    expect(r.stderr).toContain("1 file would be reformatted");
    expect(fs.readFileSync(messy, "utf8")).toBe(MESSY);
  });

  it("rewrites a file in place, atomically, leaving no temp file", async () => {
    const sub = fs.mkdtempSync(path.join(dir, "write-"));
    const messy = path.join(sub, "messy.sketch");
    fs.writeFileSync(messy, MESSY);
    const r = await run(["fmt", messy]);
    expect(r).toEqual({
      status: 0,
      stdout: `${messy}: formatted\n`,
      stderr: "",
    });
    expect(fs.readFileSync(messy, "utf8")).toBe(FORMATTED);
    expect(fs.readdirSync(sub)).toEqual(["messy.sketch"]);
    expect((await run(["fmt", "--check", messy])).status).toBe(0);
  });

  it("leaves a file with syntax errors alone: diagnostics, status 1", async () => {
    const bad = file("bad.sketch", BROKEN);
    const messy = file("messy2.sketch", MESSY);
    const r = await run(["fmt", bad, messy]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `${bad}(1,23): error SK103: Expected ';' but found 'op'.`,
    );
    expect(r.stderr).toContain(
      "1 error in 1 file: a file with syntax errors is not formatted.",
    );
    expect(fs.readFileSync(bad, "utf8")).toBe(BROKEN);
    expect(fs.readFileSync(messy, "utf8")).toBe(FORMATTED);
  });

  it("bad usage is status 2, a missing file status 1, in one line", async () => {
    expect(await run(["fmt"])).toMatchObject({
      status: 2,
      stderr: "sketchc: error: no input files (try 'sketchc --help')\n",
    });
    expect(await run(["fmt", "--wrap"])).toMatchObject({ status: 2 });
    const missing = await run(["fmt", path.join(dir, "nope.sketch")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(
      /^sketchc: error: cannot read '.*nope.sketch': no such file\n$/,
    );
  });

  it("the shipped sketches are formatted (sketchc fmt --check sketches/*.sketch)", async () => {
    const root = path.join(PACKAGE_ROOT, "sketches");
    const sketches = fs
      .readdirSync(root)
      .filter((f) => f.endsWith(".sketch"))
      .map((f) => path.join(root, f));
    expect(sketches.length).toBeGreaterThan(0);
    expect(await run(["fmt", "--check", ...sketches])).toEqual({
      status: 0,
      stdout: "",
      stderr: "",
    });
  });
});

describe("the sketchc binary: fmt", () => {
  let skipReason: string | undefined;
  beforeAll(() => {
    skipReason = ensureBuilt();
  });

  it("formats standard input to standard output with '-'", (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const r = spawnSync(process.execPath, [SKETCHC_BIN, "fmt", "-"], {
      input: MESSY,
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(FORMATTED);
    const bad = spawnSync(process.execPath, [SKETCHC_BIN, "fmt", "-"], {
      input: BROKEN,
      encoding: "utf8",
    });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("<stdin>(1,23): error SK103");
    expect(bad.stderr).not.toContain("    at ");
  });
});
