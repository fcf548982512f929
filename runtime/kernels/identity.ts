// tf.clone on wasm without a copy. The engine saves every tensor a gradient needs by cloning it
// (Engine.clone, and customGrad's `save`), and tfjs-backend-wasm 4.22's Identity copies the
// data: about 25 million floats a training step of the cpu preset (7 ms, 3% of the step, and
// the garbage that goes with it). TF.js tensors are immutable (a variable's assign swaps its data
// for another, it never writes over it), so a clone may share its input's data: the cpu and webgl
// backends' Identity does exactly that, with the backend's reference count, as wasm's Reshape does.

import * as tf from "@tensorflow/tfjs-core";

/** The backend call the kernel needs (the wasm backend has it). */
interface SharingBackend {
  incRef(dataId: object): void;
}

let installed = false;

/**
 * Replaces the wasm backend's copying Identity with one that returns its input's data with one
 * more reference (strings keep the stock copy). Idempotent.
 */
export function installSharedIdentity(): void {
  const stock = tf.getKernel(tf.Identity, "wasm");
  if (installed || stock === undefined) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === "string") return stock.kernelFunc(args);
    (args.backend as unknown as SharingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  tf.unregisterKernel(tf.Identity, "wasm");
  tf.registerKernel({
    kernelName: tf.Identity,
    backendName: "wasm",
    kernelFunc,
  });
  installed = true;
}
