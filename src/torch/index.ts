// segkit's tensor layer: `import * as torch from 'segkit/torch'`-style access to tensors, ops,
// autograd modes, memory scopes and threads.
export { Tensor, type Shape } from './tensor.js';
export * from './create.js';
export * from './dtype.js';
export { callOp, op, traceOps, isTracing, traceHint, type OpTracer } from './dispatch.js';
export { tidy, keep, memory, emptyCache, setCacheLimit } from './scope.js';
export { noGrad, enableGrad, inferenceMode, isGradEnabled, autocast, runAsync, setNumThreads, getNumThreads, manualSeed } from './modes.js';
export * as F from './functional.js';
export { native } from './native.js';
export { LIBTORCH_VERSION, type AtenOps } from './ops.generated.js';

import { native } from './native.js';
/** Whether the linked libtorch has CUDA and a GPU is visible. */
export const cudaAvailable = (): boolean => native.cudaAvailable();
/** What the addon was built against (libtorch version, ABI, CUDA, parallel backend). */
export const buildInfo = () => native.buildInfo();
export function backward(outputs: import('./tensor.js').Tensor[], grads?: (import('./tensor.js').Tensor | undefined)[], opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  native.backward(outputs.map((t) => t.handle), grads ? grads.map((g) => (g ? g.handle : null)) : null, opts.retainGraph ?? false, opts.createGraph ?? false);
}
