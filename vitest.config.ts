import * as path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Generated modules import the runtime library by its package name; tests run it from source.
  resolve: {
    alias: {
      "sketchc/module-runtime": path.resolve(
        import.meta.dirname,
        "runtime/module-runtime/index.ts",
      ),
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
