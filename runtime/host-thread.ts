// A second thread for the training step's host-side work (docs/performance.md): abduction scores
// every tuple of symbols against every stored program in plain JavaScript (and the addon's
// float64 product), which takes the main thread about 12 ms a step while the second core idles.
// It needs only g(x), the step's outputs and the memory's programs, so the step posts it to this
// thread before r's forward pass and joins it after the memory's proposals: the same function on
// the same inputs, so the same bits as running it in place.
//
// The thread holds no state of its own beyond caches: a copy of the stored programs (each sent
// when it changes) and their outputs on the tuples. Checkpoints, resumption and the results do
// not depend on whether it runs (`SKETCHC_HOST_THREAD=0` runs everything on the main thread).
// TF.js is not used there: the generated module is imported for its exact evaluator alone.

import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import type { AbducedSymbols, AbductionInputs } from "./memory.js";
import type { Expr } from "./domains/expression.js";

/** One abduction, as `abduceFrom` takes it (the stored programs travel by task). */
export interface AbductionJob extends AbductionInputs {
  /** The float64 product the main thread's abduction uses now: JavaScript's or the addon's. */
  readonly product: "javascript" | "native";
}

/** A search, as `findExpressions` takes it (the module's language is the thread's). */
export interface SearchJob {
  readonly symbols: readonly (readonly number[])[];
  readonly outputs: readonly ArrayLike<number>[];
  readonly maxSize: number;
  readonly tolerance: number;
}

/** What the main thread posts: an abduction with the programs changed since the last one, or a search. */
export type HostRequest =
  | {
      readonly kind: "abduce";
      readonly programs: readonly (readonly [number, unknown])[];
      readonly job: AbductionJob;
    }
  | { readonly kind: "search"; readonly job: SearchJob };

/** What the thread answers: the job's result, or why it could not run it. */
export type HostReply =
  | { readonly ok: AbducedSymbols | (Expr | undefined)[] }
  | { readonly error: string };

/** What the worker is started with. */
export interface HostThreadData {
  readonly moduleFile: string;
  /** The addon, for its cross product where a job asks for it (`AbductionJob.product`). */
  readonly addon?: string;
  readonly flag: Int32Array;
}

/** How long a join waits for an answer before it runs the job in place (and stops the thread). */
const JOIN_TIMEOUT_MS = 120_000;

export interface HostThread {
  /**
   * Posts an abduction of the stored programs `programs` (by task; only those of `job.tasks`
   * are read); the function returned waits for it and returns its result.
   */
  abduce(
    programs: readonly unknown[],
    job: AbductionJob,
    inPlace: () => AbducedSymbols,
  ): () => AbducedSymbols;
  /** Posts a search; the function returned waits for its expressions. */
  search(
    job: SearchJob,
    inPlace: () => (Expr | undefined)[],
  ): () => (Expr | undefined)[];
  /** Whether the thread has answered a job and still runs. */
  serving(): boolean;
  /** Stops the thread (the run is over). */
  close(): void;
}

/** The worker's script: built (dist/) only. */
const SCRIPT = new URL("./host-thread-worker.js", import.meta.url);

/**
 * Whether a training run uses the thread: not with `SKETCHC_HOST_THREAD=0`, and only from the
 * built package (from the TypeScript sources, the unit tests, the step runs everything itself).
 * metrics.json's `hostThread`; the same in a run resumed under the same environment.
 */
export function hostThreadEnabled(): boolean {
  return (
    process.env.SKETCHC_HOST_THREAD !== "0" &&
    fs.existsSync(fileURLToPath(SCRIPT))
  );
}

/**
 * Starts the thread for the generated module `moduleFile`; undefined where it is not enabled
 * (`hostThreadEnabled`) or cannot start.
 */
export function startHostThread(
  moduleFile: string,
  addon: string | undefined,
): HostThread | undefined {
  if (!hostThreadEnabled()) return undefined;
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker;
  try {
    const data: HostThreadData & { port: typeof port2 } = {
      moduleFile,
      addon,
      flag,
      port: port2,
    };
    worker = new Worker(SCRIPT, {
      workerData: data,
      transferList: [port2],
    });
  } catch {
    return undefined;
  }
  worker.unref();
  let alive = true;
  worker.on("error", () => (alive = false));
  worker.on("exit", () => (alive = false));
  // The program each task's copy in the thread is, by identity (stored programs never change).
  const sent: unknown[] = [];
  let busy = false;
  let answered = false;
  /** Posts `request`; the function returned waits for the answer (or runs `inPlace`). */
  const post = <T>(request: HostRequest, inPlace: () => T): (() => T) => {
    Atomics.store(flag, 0, 0);
    port1.postMessage(request);
    busy = true;
    return () => {
      busy = false;
      const started = Date.now();
      for (;;) {
        const received = receiveMessageOnPort(port1);
        if (received) {
          const reply = received.message as HostReply;
          if ("ok" in reply) {
            answered = true;
            return reply.ok as T;
          }
          // The thread could not run it (its module did not load, or the job failed): the step
          // runs it here, where a real error then surfaces as any other would.
          alive = false;
          void worker.terminate();
          return inPlace();
        }
        if (!alive || Date.now() - started > JOIN_TIMEOUT_MS) {
          alive = false;
          void worker.terminate();
          return inPlace();
        }
        Atomics.wait(flag, 0, 0, 50);
      }
    };
  };
  return {
    abduce(programs, job, inPlace) {
      if (!alive || busy) return inPlace;
      const changed: [number, unknown][] = [];
      for (const t of job.tasks) {
        if (sent[t] !== programs[t]) {
          changed.push([t, programs[t]]);
          sent[t] = programs[t];
        }
      }
      return post({ kind: "abduce", programs: changed, job }, inPlace);
    },
    search(job, inPlace) {
      if (!alive || busy) return inPlace;
      return post({ kind: "search", job }, inPlace);
    },
    serving: () => alive && answered,
    close() {
      alive = false;
      port1.close();
      void worker.terminate();
    },
  };
}
