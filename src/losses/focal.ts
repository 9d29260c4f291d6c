// Focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection"), computed from logits:
//   FL = -(1 - p_t)^γ · log p_t
// with log p_t from log-softmax (multi-class) or log-sigmoid (binary) and 1 - p_t = -expm1(log p_t),
// so extreme logits give a finite loss and finite gradients; a focal loss on probabilities
// (log of a softmax that underflowed to 0) is what gave report 002 its NaN. γ = 0 gives exactly
// cross-entropy / BCE. The mean runs over the pixels that are not the ignore index.
//
// Multi-class: softmax focal (one term per pixel, for its true class), optional class weights
// with torch cross-entropy's weighted mean (Σ w_t·FL / Σ w_t). Binary (one sigmoid channel):
// optional α for the foreground, 1 - α for the background (RetinaNet's α-balanced form).
import { callOp } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { upcast, NO_IGNORE, checkBinary, checkBinaryValues, checkMulticlass, classWeights, fillIgnored, graphZero, meanOver, validMask } from './common.js';

export interface FocalLossOptions {
  /** Focusing parameter γ ≥ 0 (default 2). */
  gamma?: number;
  ignoreIndex?: number;
}

/** (1 - p_t)^γ from log p_t, without NaN in the gradient where p_t = 1. */
function focalFactor(logPt: Tensor, gamma: number): Tensor | undefined {
  if (gamma === 0) return undefined;
  const oneMinusPt: Tensor = callOp('expm1', logPt).neg();
  // At p_t = 1 the base is 0 and pow's gradient would be γ·0^(γ-1) (inf for γ < 1); the clamp
  // zeroes the gradient there instead, and changes no value above 1e-30.
  return oneMinusPt.clamp(1e-30).pow(gamma);
}

function checkGamma(who: string, gamma: number): void {
  if (!(gamma >= 0)) throw new Error(`${who}: gamma must be ≥ 0; got ${gamma}`);
}

/** Softmax focal loss of logits (N, C, H, W) against int64 class ids (N, H, W); a scalar. */
export function focalLoss(logits: Tensor, target: Tensor, opts: FocalLossOptions & { classWeights?: number[] | Tensor } = {}): Tensor {
  const { gamma = 2, ignoreIndex = NO_IGNORE } = opts;
  checkGamma('focalLoss', gamma);
  return tidy(() => {
    logits = upcast(logits);
    const c = checkMulticlass('focalLoss', logits, target);
    const weight = classWeights('focalLoss', opts.classWeights, logits, c);
    const valid = validMask(target, ignoreIndex);
    const t = fillIgnored(target, valid).unsqueeze(1); // (N, 1, H, W)
    const logPt = logits.logSoftmax(1).gather(1, t).squeeze(1); // (N, H, W)
    const factor = focalFactor(logPt, gamma);
    let loss = logPt.neg();
    if (factor) loss = loss.mul(factor);
    if (!weight) return meanOver(loss, valid);
    const w = weight.indexSelect(0, t.flatten()).reshape(target.shape).where(valid, 0);
    const total = w.sum().item();
    if (total === 0) return graphZero(logits);
    return loss.mul(w).sum().div(total);
  });
}

/** Sigmoid focal loss of one-channel logits (N, 1, H, W) against 0/1 targets; a scalar. */
export function binaryFocalLoss(logits: Tensor, target: Tensor, opts: FocalLossOptions & { alpha?: number } = {}): Tensor {
  const { gamma = 2, ignoreIndex = NO_IGNORE, alpha } = opts;
  checkGamma('binaryFocalLoss', gamma);
  if (alpha !== undefined && !(alpha >= 0 && alpha <= 1)) throw new Error(`binaryFocalLoss: alpha must lie in [0, 1]; got ${alpha}`);
  return tidy(() => {
    logits = upcast(logits);
    const t = checkBinary('binaryFocalLoss', logits, target);
    checkBinaryValues('binaryFocalLoss', t, ignoreIndex);
    const valid = validMask(t, ignoreIndex);
    const fg = t.eq(1);
    // log p_t = logsigmoid(x) for foreground, logsigmoid(-x) for background.
    const logPt: Tensor = callOp('log_sigmoid', logits.where(fg, logits.neg()));
    const factor = focalFactor(logPt, gamma);
    let loss = logPt.neg();
    if (factor) loss = loss.mul(factor);
    if (alpha !== undefined) loss = loss.mul(fg.to(logits.dtype).mul(2 * alpha - 1).add(1 - alpha));
    return meanOver(loss, valid);
  });
}
