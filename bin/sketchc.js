#!/usr/bin/env node
// The sketchc command. The TypeScript sources are compiled to dist/ by `npm ci` (the prepare script).
import { run } from "../dist/cli/main.js";

await run(process.argv.slice(2));
