// Shared by the losses: shape checks that name what is wrong, the valid-pixel mask of an
// ignore index, and a zero that keeps the graph (so an all-ignored batch gives 0, not NaN,
// and backward still reaches the logits with zero gradients).
import { tensor } from '../torch/create.js';
import type { Tensor } from '../torch/tensor.js';

/** Half-precision logits (autocast) are upcast: the losses compute in float32, as autocast does for softmax and cross-entropy. */
export const upcast = (logits: Tensor): Tensor => (logits.dtype === 'float16' || logits.dtype === 'bfloat16' ? logits.float() : logits);

/** PyTorch's convention for "no ignore index": a label no class id can take. */
export const NO_IGNORE = -100;

/** Checks multi-class logits (N, C, H, W) against int64 class ids (N, H, W); returns C. */
export function checkMulticlass(who: string, logits: Tensor, target: Tensor): number {
  const [n, c, ...hw] = logits.shape;
  if (logits.shape.length !== 4) throw new Error(`${who}: logits must be (N, C, H, W); got shape [${logits.shape}]`);
  if (target.shape.length !== 3 || target.shape[0] !== n || target.shape[1] !== hw[0] || target.shape[2] !== hw[1]) {
    throw new Error(`${who}: target must be class ids of shape (N, H, W) = [${n},${hw}] to match logits [${logits.shape}]; got [${target.shape}]`);
  }
  if (target.dtype !== 'int64') throw new Error(`${who}: target must be int64 class ids; got ${target.dtype} (use target.long())`);
  return c;
}

/**
 * Checks binary logits of one channel (N, 1, H, W) against targets (N, H, W) or (N, 1, H, W) of
 * 0/1 (or the ignore index); returns the target as (N, 1, H, W).
 */
export function checkBinary(who: string, logits: Tensor, target: Tensor): Tensor {
  const [n, c, h, w] = logits.shape;
  if (logits.shape.length !== 4 || c !== 1) {
    throw new Error(`${who}: binary logits must be one channel (N, 1, H, W) for a sigmoid output; got [${logits.shape}]` +
      (logits.shape.length === 4 && c === 2 ? ' (for a two-class softmax output use the multi-class loss)' : ''));
  }
  const t = target.shape.length === 3 ? target.unsqueeze(1) : target;
  if (t.shape.length !== 4 || t.shape[0] !== n || t.shape[1] !== 1 || t.shape[2] !== h || t.shape[3] !== w) {
    throw new Error(`${who}: binary target must be (N, H, W) or (N, 1, H, W) matching logits [${logits.shape}]; got [${target.shape}]`);
  }
  return t;
}

/** Throws when a binary target holds anything but 0, 1 and the ignore index. */
export function checkBinaryValues(who: string, target: Tensor, ignoreIndex: number): void {
  const bad = target.ne(0).logicalAnd(target.ne(1)).logicalAnd(target.ne(ignoreIndex)).any().item();
  if (bad) throw new Error(`${who}: binary target must hold only 0, 1 or the ignore index ${ignoreIndex}`);
}

/** Pixels whose label is not the ignore index, as a bool tensor of the target's shape. */
export const validMask = (target: Tensor, ignoreIndex: number): Tensor => target.ne(ignoreIndex);

/** The target with ignored pixels set to class 0 (safe to one-hot or gather; mask them after). */
export const fillIgnored = (target: Tensor, valid: Tensor): Tensor => target.where(valid, 0);

/** A zero that depends on `x`, so backward gives zero gradients instead of failing or NaN. */
export const graphZero = (x: Tensor): Tensor => x.sum().mul(0).add(0); // + 0 turns -0 into 0

/** Sum of `values` over the valid pixels divided by their count; 0 (with the graph) when none are valid. */
export function meanOver(values: Tensor, valid: Tensor): Tensor {
  const count = valid.sum().item();
  if (count === 0) return graphZero(values);
  return values.where(valid, 0).sum().div(count);
}

/** Class weights as a float tensor on the logits' device and dtype, checked against C. */
export function classWeights(who: string, weight: Tensor | number[] | undefined, logits: Tensor, numClasses: number): Tensor | undefined {
  if (weight === undefined) return undefined;
  const n = Array.isArray(weight) ? weight.length : weight.numel;
  if (n !== numClasses) throw new Error(`${who}: ${n} class weights given for ${numClasses} classes (logits have C = ${numClasses})`);
  return Array.isArray(weight) ? tensor(weight, { dtype: logits.dtype, device: logits.device }) : weight;
}
