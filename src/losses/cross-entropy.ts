// Cross-entropy on multi-class logits: torch.nn.functional.cross_entropy (ATen
// cross_entropy_loss), with class weights, an ignore index and label smoothing, and PyTorch's
// mean (weighted by the target pixels' class weights). One difference: a batch whose pixels are
// all ignored gives 0 with zero gradients, where PyTorch 1.13 gives NaN.
import { crossEntropy } from '../torch/functional.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { upcast, NO_IGNORE, checkMulticlass, classWeights, graphZero } from './common.js';

export interface CrossEntropyLossOptions {
  /** One weight per class (C), as torch's `weight`. */
  classWeights?: number[] | Tensor;
  /** Pixels with this label add nothing (255 is common in segmentation). Default: none. */
  ignoreIndex?: number;
  /** Label smoothing in [0, 1], as torch's `label_smoothing`. Default 0. */
  labelSmoothing?: number;
}

/** Cross-entropy of logits (N, C, H, W) against int64 class ids (N, H, W); a scalar. */
export function crossEntropyLoss(logits: Tensor, target: Tensor, opts: CrossEntropyLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE, labelSmoothing = 0 } = opts;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new Error(`crossEntropyLoss: labelSmoothing must lie in [0, 1]; got ${labelSmoothing}`);
  return tidy(() => {
    logits = upcast(logits);
    const c = checkMulticlass('crossEntropyLoss', logits, target);
    const weight = classWeights('crossEntropyLoss', opts.classWeights, logits, c);
    if (!target.ne(ignoreIndex).any().item()) return graphZero(logits);
    return crossEntropy(logits, target, { weight, ignoreIndex, labelSmoothing });
  });
}
