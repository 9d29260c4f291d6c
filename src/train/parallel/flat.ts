// Tensors to one flat Float32Array and back, in each tensor's logical (NCHW) order whatever its
// memory layout, so processes with the same model exchange weights and gradients as one message.
import { cat, noGrad, tensor, tidy, zerosLike, type Tensor } from '../../torch/index.js';

/** The values of float32 tensors end to end. */
export function gather(tensors: Tensor[]): Float32Array {
  if (tensors.length === 0) return new Float32Array(0);
  return tidy(() => cat(tensors.map((t) => t.detach().reshape([-1]))).data() as Float32Array);
}

/** Writes `values` (as gather made them) back into the tensors, in place. */
export function scatter(values: Float32Array, tensors: Tensor[]): void {
  copyInto(values, tensors.map((t) => [t, t.numel]));
}

/** Copies consecutive runs of `values` into the targets; a run without a target is passed over. */
function copyInto(values: Float32Array, runs: Array<[Tensor | undefined, number]>): void {
  const total = runs.reduce((n, [, len]) => n + len, 0);
  if (values.length !== total) throw new Error(`data-parallel: got ${values.length} values for tensors of ${total}; the processes' models differ`);
  noGrad(() =>
    tidy(() => {
      const flat = tensor(values);
      let at = 0;
      for (const [t, len] of runs) {
        if (t) t.copy_(flat.narrow(0, at, len).view(t.shape));
        at += len;
      }
    }),
  );
}

/** The parameters' gradients end to end (zeros for a parameter without one) and which have one. */
export function gatherGrads(params: Tensor[]): { values: Float32Array; has: boolean[] } {
  const grads = params.map((p) => p.grad);
  try {
    const has = grads.map((g) => g !== undefined);
    const values = tidy(() => gather(grads.map((g, i) => g ?? zerosLike(params[i]!))));
    return { values, has };
  } finally {
    grads.forEach((g) => g?.dispose());
  }
}

/** Sets the parameters' gradients to `values`; a parameter no process had a gradient for keeps none. */
export function scatterGrads(values: Float32Array, params: Tensor[], has: boolean[]): void {
  const grads = params.map((p, i) => {
    if (!has[i]) return undefined;
    const g = p.grad;
    if (g) return g;
    const zeros = noGrad(() => zerosLike(p));
    p.grad = zeros;
    zeros.dispose(); // the parameter holds the gradient; this handle is not needed
    return p.grad!;
  });
  try {
    copyInto(values, params.map((p, i) => [grads[i], p.numel]));
  } finally {
    grads.forEach((g) => g?.dispose());
  }
}

/** The model's floating-point buffers (BatchNorm running statistics); counters are left out. */
export function floatBuffers(buffers: Tensor[]): Tensor[] {
  return buffers.filter((b) => b.dtype === 'float32');
}
