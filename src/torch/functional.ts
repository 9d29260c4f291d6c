// torch.nn.functional: the layer math the nn modules and losses use, with PyTorch's defaults.
import { callOp } from './dispatch.js';
import type { Tensor } from './tensor.js';

type Pair = number | [number, number];
export type Reduction = 'mean' | 'sum' | 'none';
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: { stride?: Pair; padding?: Pair | 'same' | 'valid'; dilation?: Pair; groups?: number } = {}): Tensor {
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = opts;
  if (typeof padding === 'string') return callOp('conv2d.padding', x, weight, bias, stride, padding, dilation, groups);
  return callOp('conv2d', x, weight, bias, stride, padding, dilation, groups);
}

export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: { stride?: Pair; padding?: Pair; outputPadding?: Pair; groups?: number; dilation?: Pair } = {}): Tensor {
  const { stride = 1, padding = 0, outputPadding = 0, groups = 1, dilation = 1 } = opts;
  return callOp('conv_transpose2d.input', x, weight, bias, stride, padding, outputPadding, groups, dilation);
}

export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return callOp('linear', x, weight, bias);
}

export function batchNorm(x: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, weight: Tensor | undefined, bias: Tensor | undefined, training: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  return callOp('batch_norm', x, weight, bias, runningMean, runningVar, training, momentum, eps, true);
}

export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  return callOp('group_norm', x, numGroups, weight, bias, eps, true);
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  return callOp('layer_norm', x, normalizedShape, weight, bias, eps, true);
}

// ---- activations ----
export const relu = (x: Tensor): Tensor => callOp('relu', x);
export const relu_ = (x: Tensor): Tensor => callOp('relu_', x);
export const relu6 = (x: Tensor): Tensor => callOp('hardtanh', x, 0, 6);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => callOp('leaky_relu', x, negativeSlope);
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => callOp('gelu', x, approximate);
export const silu = (x: Tensor): Tensor => callOp('silu', x);
export const hardswish = (x: Tensor): Tensor => callOp('hardswish', x);
export const hardsigmoid = (x: Tensor): Tensor => callOp('hardsigmoid', x);
export const sigmoid = (x: Tensor): Tensor => callOp('sigmoid', x);
export const tanh = (x: Tensor): Tensor => callOp('tanh', x);
export const softmax = (x: Tensor, dim: number): Tensor => callOp('softmax.int', x, dim);
export const logSoftmax = (x: Tensor, dim: number): Tensor => callOp('log_softmax.int', x, dim);

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  return callOp('dropout', x, p, training);
}
/** Zeroes whole channels (N, C, H, W) with probability p. */
export function dropout2d(x: Tensor, p = 0.5, training = true): Tensor {
  return callOp('feature_dropout', x, p, training);
}

// ---- pooling and resizing ----
export function maxPool2d(x: Tensor, kernelSize: Pair, opts: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {}): Tensor {
  const { stride = kernelSize, padding = 0, dilation = 1, ceilMode = false } = opts;
  return callOp('max_pool2d', x, kernelSize, stride, padding, dilation, ceilMode);
}

export function avgPool2d(x: Tensor, kernelSize: Pair, opts: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {}): Tensor {
  const { stride = kernelSize, padding = 0, ceilMode = false, countIncludePad = true } = opts;
  return callOp('avg_pool2d', x, kernelSize, stride, padding, ceilMode, countIncludePad, undefined);
}

export const adaptiveAvgPool2d = (x: Tensor, outputSize: Pair): Tensor => callOp('adaptive_avg_pool2d', x, outputSize);

export interface InterpolateOptions {
  size?: Pair;
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic' | 'nearest-exact';
  alignCorners?: boolean;
}

/** F.interpolate for 4-D input. Masks must use 'nearest'. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const { mode = 'nearest', alignCorners } = opts;
  if (opts.size === undefined && opts.scaleFactor === undefined) throw new Error('interpolate: give size or scaleFactor');
  if ((mode === 'nearest' || mode === 'nearest-exact') && alignCorners !== undefined) {
    throw new Error(`interpolate: alignCorners only applies to bilinear/bicubic, not '${mode}'`);
  }
  const size = opts.size === undefined ? undefined : typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
  const scales = opts.scaleFactor === undefined ? undefined : typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor;
  switch (mode) {
    case 'nearest': return callOp('upsample_nearest2d.vec', x, size, scales);
    case 'nearest-exact': return callOp('_upsample_nearest_exact2d.vec', x, size, scales);
    case 'bilinear': return callOp('upsample_bilinear2d.vec', x, size, alignCorners ?? false, scales);
    case 'bicubic': return callOp('upsample_bicubic2d.vec', x, size, alignCorners ?? false, scales);
  }
}

export function pad(x: Tensor, padding: number[], mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant', value = 0): Tensor {
  if (mode === 'constant') return callOp('constant_pad_nd', x, padding, value);
  if (mode === 'reflect') return callOp('reflection_pad2d', x, padding);
  if (mode === 'replicate') return callOp('replication_pad2d', x, padding);
  return callOp('_pad_circular', x, padding);
}

// ---- losses ----
export interface CrossEntropyOptions {
  weight?: Tensor;
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}

/** Cross-entropy on logits (N, C, ...) and int64 class ids (N, ...); ignore index 255 is common in segmentation. */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { weight, ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0 } = opts;
  return callOp('cross_entropy_loss', logits, target, weight, REDUCTION[reduction], ignoreIndex, labelSmoothing);
}

export function nllLoss(logProbs: Tensor, target: Tensor, opts: { weight?: Tensor; ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  const { weight, ignoreIndex = -100, reduction = 'mean' } = opts;
  return callOp('nll_loss_nd', logProbs, target, weight, REDUCTION[reduction], ignoreIndex);
}

export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, opts: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return callOp('binary_cross_entropy_with_logits', logits, target, opts.weight, opts.posWeight, REDUCTION[opts.reduction ?? 'mean']);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return callOp('mse_loss', input, target, REDUCTION[reduction]);
}
