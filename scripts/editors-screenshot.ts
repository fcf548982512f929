// Makes docs/editors-highlight.png: a sketch tokenized by the extension's TextMate grammar,
// rendered as coloured HTML (scripts/highlight.ts) and photographed by headless Chromium.
// Run through scripts/editors-screenshot.sh, which builds this file first.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  loadSketchGrammar,
  PACKAGE_ROOT,
  renderHighlightHtml,
  tokenizeSketch,
} from "./highlight.js";

const LINE_HEIGHT_PX = 20.3; // 14px DejaVu Sans Mono at line-height 1.45
const PADDING_PX = 28 + 4;
const WIDTH_PX = 860;

async function main(): Promise<number> {
  const [
    sketch = "sketches/smooth.sketch",
    png = "docs/editors-highlight.png",
  ] = process.argv.slice(2);
  const chromium = process.env.CHROMIUM ?? "chromium";
  const text = fs.readFileSync(path.resolve(PACKAGE_ROOT, sketch), "utf8");
  const lines = tokenizeSketch(await loadSketchGrammar(), text.trimEnd());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-highlight-"));
  try {
    const html = path.join(dir, "highlight.html");
    fs.writeFileSync(html, renderHighlightHtml(lines, path.basename(sketch)));
    const height = Math.ceil(lines.length * LINE_HEIGHT_PX + PADDING_PX);
    const out = path.resolve(PACKAGE_ROOT, png);
    const run = spawnSync(
      chromium,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        `--user-data-dir=${path.join(dir, "profile")}`,
        `--window-size=${WIDTH_PX},${height}`,
        `--screenshot=${out}`,
        `file://${html}`,
      ],
      { encoding: "utf8" },
    );
    if (run.error || run.status !== 0 || !fs.existsSync(out)) {
      const why = run.error?.message ?? run.stderr.trim().split("\n").pop();
      process.stderr.write(
        `editors-screenshot: error: ${chromium} failed (${why}); install it with 'apt-get install -y chromium' or set CHROMIUM\n`,
      );
      return 1;
    }
    const kb = (fs.statSync(out).size / 1024).toFixed(1);
    process.stdout.write(
      `${path.relative(PACKAGE_ROOT, out)}: ${WIDTH_PX}x${height}, ${kb} KiB, from ${sketch}\n`,
    );
    return 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
