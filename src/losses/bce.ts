// Binary cross-entropy with logits for a one-channel sigmoid output (N, 1, H, W) against 0/1
// targets: torch's binary_cross_entropy_with_logits per pixel (with pos_weight), averaged over the
// pixels that are not the ignore index (torch itself has no ignore index for BCE).
import { binaryCrossEntropyWithLogits } from '../torch/functional.js';
import { tensor } from '../torch/create.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { upcast, NO_IGNORE, checkBinary, checkBinaryValues, meanOver, validMask } from './common.js';

export interface BCEWithLogitsLossOptions {
  /** Weight of the positive (foreground) pixels' term, as torch's `pos_weight`. */
  posWeight?: number;
  ignoreIndex?: number;
}

/** BCE of logits (N, 1, H, W) against targets (N, H, W) or (N, 1, H, W) of 0/1; a scalar. */
export function bceWithLogitsLoss(logits: Tensor, target: Tensor, opts: BCEWithLogitsLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE, posWeight } = opts;
  if (posWeight !== undefined && !(posWeight > 0)) throw new Error(`bceWithLogitsLoss: posWeight must be > 0; got ${posWeight}`);
  return tidy(() => {
    logits = upcast(logits);
    const t = checkBinary('bceWithLogitsLoss', logits, target);
    checkBinaryValues('bceWithLogitsLoss', t, ignoreIndex);
    const valid = validMask(t, ignoreIndex);
    const t01 = t.where(valid, 0).to(logits.dtype);
    const pw = posWeight === undefined ? undefined : tensor([posWeight], { dtype: logits.dtype, device: logits.device });
    const perPixel = binaryCrossEntropyWithLogits(logits, t01, { posWeight: pw, reduction: 'none' });
    return meanOver(perPixel, valid);
  });
}
