// tf.clone on wasm without a copy. The engine saves every tensor a gradient needs by cloning it
// (Engine.clone, and customGrad's `save`), and tfjs-backend-wasm 4.22's Identity copies the
// data: about 25 million floats a training step of the cpu preset (7 ms, 3% of the step, and
// the garbage that goes with it). TF.js tensors are immutable (a variable's assign swaps its data
// for another, it never writes over it), so a clone may share its input's data: the cpu and webgl
// backends' Identity does exactly that, with the backend's reference count, as wasm's Reshape does.

import * as tf from "@tensorflow/tfjs-core";

/** The backend calls the kernel needs (the wasm backend has both). */
interface SharingBackend {
  incRef(dataId: object): void;
}

/** Identity that returns its input's data with one more reference (strings keep the stock copy). */
export function sharedIdentityKernel(
  stock: tf.KernelConfig,
  backendName: string,
): tf.KernelConfig {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === "string")
      return stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
    (args.backend as SharingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return {
    kernelName: tf.Identity,
    backendName,
    kernelFunc: kernelFunc as tf.KernelFunc,
  };
}

/** Replaces the wasm backend's copying Identity with the sharing one (idempotent). */
export function installSharedIdentity(): void {
  const current = tf.getKernel(tf.Identity, "wasm");
  if (current === undefined || SHARED.has(current.kernelFunc)) return;
  const shared = sharedIdentityKernel(current, "wasm");
  SHARED.add(shared.kernelFunc);
  tf.unregisterKernel(tf.Identity, "wasm");
  tf.registerKernel(shared);
}

const SHARED = new WeakSet<tf.KernelFunc>();
