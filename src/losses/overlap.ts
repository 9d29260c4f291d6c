// Soft overlap counts for Dice and Tversky: per class c, over the batch and the valid pixels,
//   TP_c = Σ p_c·t_c,  P_c = Σ p_c,  T_c = Σ t_c    (FP = P - TP, FN = T - TP)
// with p the softmax (multi-class) or sigmoid (binary, one class: the foreground) probabilities
// and t the one-hot target. Ignored pixels are left out of all three sums.
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { checkBinary, checkBinaryValues, checkMulticlass, fillIgnored, graphZero, validMask } from './common.js';

export interface OverlapCounts {
  tp: Tensor; // (C)
  p: Tensor; // (C)
  t: Tensor; // (C)
}

/** Which classes the mean runs over: those in the target (default) or all of them. */
export type ClassSelection = 'present' | 'all';

export function multiclassOverlap(who: string, logits: Tensor, target: Tensor, ignoreIndex: number): OverlapCounts {
  const c = checkMulticlass(who, logits, target);
  const valid = validMask(target, ignoreIndex).unsqueeze(1); // (N, 1, H, W)
  const probs = logits.softmax(1).where(valid, 0); // (N, C, H, W)
  const onehot = fillIgnored(target, valid.squeeze(1)).oneHot(c).permute(0, 3, 1, 2).to(logits.dtype).where(valid, 0);
  return { tp: probs.mul(onehot).sum([0, 2, 3]), p: probs.sum([0, 2, 3]), t: onehot.sum([0, 2, 3]) };
}

export function binaryOverlap(who: string, logits: Tensor, target: Tensor, ignoreIndex: number): OverlapCounts {
  const t4 = checkBinary(who, logits, target);
  checkBinaryValues(who, t4, ignoreIndex);
  const valid = validMask(t4, ignoreIndex);
  const probs = logits.sigmoid().where(valid, 0);
  const fg = t4.eq(1).to(logits.dtype);
  return { tp: probs.mul(fg).sum([0, 2, 3]), p: probs.sum([0, 2, 3]), t: fg.sum([0, 2, 3]) };
}

/** 1 - mean of per-class scores over the selected classes; 0 (with the graph) when none is selected. */
export function oneMinusMeanScore(scores: Tensor, counts: OverlapCounts, classes: ClassSelection, logits: Tensor): Tensor {
  return tidy(() => {
    if (classes === 'all') return scores.mean().neg().add(1);
    const present = counts.t.gt(0);
    const n = present.sum().item();
    if (n === 0) return graphZero(logits);
    return scores.where(present, 0).sum().div(n).neg().add(1);
  });
}
