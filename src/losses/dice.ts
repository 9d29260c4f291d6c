// Soft Dice loss (Milletari et al. 2016, V-Net): per class,
//   dice_c = (2·TP_c + smooth) / (P_c + T_c + smooth)    (denominator clamped to ≥ eps)
// over the batch's valid pixels (overlap.ts), loss = 1 - mean over the classes present in the
// target (or all classes). Multi-class over softmax; binary over the sigmoid of one channel,
// scoring the foreground. A perfect prediction gives 0; an all-ignored batch gives 0.
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { upcast, NO_IGNORE } from './common.js';
import { binaryOverlap, multiclassOverlap, oneMinusMeanScore, type ClassSelection, type OverlapCounts } from './overlap.js';

export interface DiceLossOptions {
  ignoreIndex?: number;
  /** Added to numerator and denominator (default 0). */
  smooth?: number;
  /** Lower bound of the denominator (default 1e-7). */
  eps?: number;
  /** Mean over the classes present in the target ('present', default) or over all classes. */
  classes?: ClassSelection;
}

function dice(counts: OverlapCounts, smooth: number, eps: number): Tensor {
  return counts.tp.mul(2).add(smooth).div(counts.p.add(counts.t).add(smooth).clamp(eps));
}

/** Soft Dice of softmax(logits) (N, C, H, W) against int64 class ids (N, H, W); a scalar. */
export function diceLoss(logits: Tensor, target: Tensor, opts: DiceLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE, smooth = 0, eps = 1e-7, classes = 'present' } = opts;
  return tidy(() => {
    logits = upcast(logits);
    const counts = multiclassOverlap('diceLoss', logits, target, ignoreIndex);
    return oneMinusMeanScore(dice(counts, smooth, eps), counts, classes, logits);
  });
}

/** Soft Dice of sigmoid(logits) (N, 1, H, W) against 0/1 targets, foreground only; a scalar. */
export function binaryDiceLoss(logits: Tensor, target: Tensor, opts: DiceLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE, smooth = 0, eps = 1e-7, classes = 'present' } = opts;
  return tidy(() => {
    logits = upcast(logits);
    const counts = binaryOverlap('binaryDiceLoss', logits, target, ignoreIndex);
    return oneMinusMeanScore(dice(counts, smooth, eps), counts, classes, logits);
  });
}
