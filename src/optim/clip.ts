// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), in place on the
// parameters' gradients, with PyTorch 1.13's op sequence so the norm matches to float32 rounding.

import { Tensor } from '../torch/tensor.js';
import { stack, zeros } from '../torch/create.js';
import { callOp } from '../torch/dispatch.js';
import { noGrad } from '../torch/modes.js';
import { tidy } from '../torch/scope.js';

type Params = Tensor | Iterable<Tensor>;

function gradsOf(params: Params): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  return list.map((p) => p.grad).filter((g): g is Tensor => g !== undefined);
}

const onDevice = (t: Tensor, device: string): Tensor => (t.device === device ? t : t.to({ device }));
const allDims = (t: Tensor): number[] => t.shape.map((_, i) => i);

/**
 * Scales all gradients together so that their joint `normType`-norm (as if concatenated) is at
 * most `maxNorm`, and returns the norm before clipping as a 0-dim float tensor (dispose it, or
 * call inside tidy). Parameters without a gradient are skipped; with none the norm is 0.
 * `normType` is a p > 0 or Infinity. A non-finite norm throws when `errorIfNonfinite`; otherwise
 * the gradients are scaled by it anyway (they become NaN), as in PyTorch.
 */
export function clipGradNorm_(params: Params, maxNorm: number, normType = 2, errorIfNonfinite = false): Tensor {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm) || maxNorm < 0) {
    throw new Error(`clipGradNorm_: maxNorm must be a number >= 0, got ${String(maxNorm)}`);
  }
  if (typeof normType !== 'number' || !(normType > 0)) {
    throw new Error(`clipGradNorm_: normType must be a number > 0 or Infinity, got ${String(normType)}`);
  }
  return noGrad(() =>
    tidy(() => {
      const grads = gradsOf(params);
      if (grads.length === 0) return zeros([]);
      const device = grads[0]!.device;
      let total: Tensor;
      if (normType === Infinity) {
        const norms = grads.map((g) => onDevice(g.abs().max(), device));
        total = norms.length === 1 ? norms[0]! : stack(norms).max();
      } else {
        const norms = grads.map((g) => onDevice(callOp('norm.ScalarOpt_dim', g, normType, allDims(g), false), device));
        total = callOp('norm.ScalarOpt_dim', stack(norms), normType, [0], false);
      }
      if (errorIfNonfinite && !Number.isFinite(total.item())) {
        throw new Error(
          `clipGradNorm_: the total norm of order ${normType} of the gradients is non-finite (${total.item()}), so they cannot be clipped; ` +
            'find the NaN/Inf (lower the lr, check the loss), or pass errorIfNonfinite = false to scale by it anyway',
        );
      }
      // PyTorch computes max_norm / (norm + 1e-6) as reciprocal(norm + 1e-6) * max_norm
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(undefined, 1.0);
      for (const g of grads) g.mul_(onDevice(coef, g.device));
      return total;
    }),
  );
}

/** Clamps every gradient element into [-clipValue, clipValue], in place. */
export function clipGradValue_(params: Params, clipValue: number): void {
  if (typeof clipValue !== 'number' || Number.isNaN(clipValue) || clipValue < 0) {
    throw new Error(`clipGradValue_: clipValue must be a number >= 0, got ${String(clipValue)}`);
  }
  noGrad(() =>
    tidy(() => {
      for (const g of gradsOf(params)) g.clamp_(-clipValue, clipValue);
    }),
  );
}
