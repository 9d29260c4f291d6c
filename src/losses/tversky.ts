// Tversky loss (Salehi et al. 2017): per class,
//   TI_c = (TP_c + smooth) / (TP_c + α·FP_c + β·FN_c + smooth)    (denominator clamped to ≥ eps)
// α weighs false positives, β false negatives; α = β = 0.5 is Dice (without smooth), α = β = 1
// is soft Jaccard. Loss = 1 - mean over the present classes (or all), as dice.ts.
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { upcast, NO_IGNORE } from './common.js';
import type { DiceLossOptions } from './dice.js';
import { binaryOverlap, multiclassOverlap, oneMinusMeanScore, type OverlapCounts } from './overlap.js';

export interface TverskyLossOptions extends DiceLossOptions {
  /** Weight of false positives (default 0.5). */
  alpha?: number;
  /** Weight of false negatives (default 0.5). */
  beta?: number;
}

function tversky(counts: OverlapCounts, alpha: number, beta: number, smooth: number, eps: number): Tensor {
  const fp = counts.p.sub(counts.tp);
  const fn = counts.t.sub(counts.tp);
  return counts.tp.add(smooth).div(counts.tp.add(fp.mul(alpha)).add(fn.mul(beta)).add(smooth).clamp(eps));
}

function checkWeights(who: string, alpha: number, beta: number): void {
  if (!(alpha >= 0) || !(beta >= 0)) throw new Error(`${who}: alpha and beta must be ≥ 0; got alpha ${alpha}, beta ${beta}`);
}

/** Tversky loss of softmax(logits) (N, C, H, W) against int64 class ids (N, H, W); a scalar. */
export function tverskyLoss(logits: Tensor, target: Tensor, opts: TverskyLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE, smooth = 0, eps = 1e-7, classes = 'present', alpha = 0.5, beta = 0.5 } = opts;
  checkWeights('tverskyLoss', alpha, beta);
  return tidy(() => {
    logits = upcast(logits);
    const counts = multiclassOverlap('tverskyLoss', logits, target, ignoreIndex);
    return oneMinusMeanScore(tversky(counts, alpha, beta, smooth, eps), counts, classes, logits);
  });
}

/** Tversky loss of sigmoid(logits) (N, 1, H, W) against 0/1 targets, foreground only; a scalar. */
export function binaryTverskyLoss(logits: Tensor, target: Tensor, opts: TverskyLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE, smooth = 0, eps = 1e-7, classes = 'present', alpha = 0.5, beta = 0.5 } = opts;
  checkWeights('binaryTverskyLoss', alpha, beta);
  return tidy(() => {
    logits = upcast(logits);
    const counts = binaryOverlap('binaryTverskyLoss', logits, target, ignoreIndex);
    return oneMinusMeanScore(tversky(counts, alpha, beta, smooth, eps), counts, classes, logits);
  });
}
