// The worker side of runtime/host-thread.ts: abduction and the memory's search for the main
// thread, on its copy of the stored programs. Every job answers on the port, then raises the flag
// the main thread waits on.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { workerData, type MessagePort } from "node:worker_threads";
import { languageOf, type Language } from "./domains/expression.js";
import type { HostReply, HostRequest, HostThreadData } from "./host-thread.js";
import {
  abduceFrom,
  findExpressions,
  installCrossProduct,
  type CrossProduct,
} from "./memory.js";
import type { SketchModule } from "./sketch-module.js";

const { moduleFile, addon, flag, port } = workerData as HostThreadData & {
  port: MessagePort;
};

const programs: unknown[] = [];
let language: Language | undefined;
let module: SketchModule | undefined;
let failed: string | undefined;
/** The addon's cross product, where the main thread named the addon. */
let native: CrossProduct | undefined;
try {
  module = (await import(pathToFileURL(moduleFile).href)) as SketchModule;
  if (addon !== undefined)
    native = (
      createRequire(import.meta.url)(addon) as { crossProduct: CrossProduct }
    ).crossProduct;
} catch (error) {
  failed = `cannot load ${moduleFile}: ${(error as Error).message}`;
}

/** One job, as the main thread would run it in place. */
function run(request: HostRequest): HostReply {
  if (module === undefined) throw new Error(failed);
  if (request.kind === "search") {
    const { symbols, outputs, maxSize, tolerance } = request.job;
    language ??= languageOf(module);
    return {
      ok: findExpressions(language, symbols, outputs, maxSize, tolerance),
    };
  }
  for (const [t, p] of request.programs) programs[t] = p;
  if (request.job.product === "native" && native === undefined)
    throw new Error("the addon's cross product is not loaded here");
  installCrossProduct(request.job.product === "native" ? native : undefined);
  return { ok: abduceFrom({ programs }, module, request.job) };
}

port.on("message", (request: HostRequest) => {
  let reply: HostReply;
  try {
    reply = run(request);
  } catch (error) {
    reply = { error: (error as Error).stack ?? String(error) };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
