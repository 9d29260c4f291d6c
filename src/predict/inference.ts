// Inference beyond one forward pass: sliding windows for images larger than the training crop,
// and test-time augmentation (several scales, horizontal flip), as MMSegmentation's slide mode and
// multi-scale flip test do. Everything is averaged as class probabilities at the input's size.
// The model is a Module or any Forward (an ONNX Runtime session): the passes wait for it, so the
// functions here are async and free what they make themselves (tidy cannot span an await).
//
//   const probs = await predictProbabilities(model, x, { scales: [0.5, 0.75, 1, 1.25, 1.5, 1.75], flip: true,
//                                                        window: { size: 512, overlap: 1 / 3 } });
//   const mask = classIds(probs);
import { F, Tensor, inferenceMode, op, tidy, zeros } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { forwardOf, type Forward } from './forward.js';

export interface SlidingWindow {
  /** Window side (or [height, width]), usually the training crop. */
  size: number | [number, number];
  /** Fraction of a window shared with its neighbour (default 1/3, MMSegmentation's 512/768 stride). */
  overlap?: number;
}

export const FLIP_MODES = ['horizontal', 'vertical', 'both'] as const;
export type FlipMode = boolean | (typeof FLIP_MODES)[number];

/** The dims each pass mirrors ([] the input as it is) for a flip mode. */
export function flipPasses(flip: FlipMode | undefined): number[][] {
  if (!flip) return [[]];
  if (flip === true || flip === 'horizontal') return [[], [3]];
  if (flip === 'vertical') return [[], [2]];
  return [[], [3], [2], [2, 3]];
}

export interface InferenceOptions {
  /** Input scales to average (default [1]); each result is resized back to the input's size. */
  scales?: number[];
  /**
   * Also average mirrored inputs (each result mirrored back): true or 'horizontal' the left-right
   * mirror, 'vertical' the upside-down one, 'both' those two and their combination (4 passes).
   */
  flip?: FlipMode;
  /** Run the model on overlapping windows instead of the whole (scaled) image. */
  window?: SlidingWindow;
}

/** One channel means a binary model (sigmoid), several a softmax over classes. */
const toProbabilities = (logits: Tensor): Tensor => (logits.shape[1] === 1 ? logits.sigmoid() : logits.softmax(1));

/**
 * Class ids (N, H, W) uint8 from probabilities (N, K, H, W): the arg-max class, or for one
 * (sigmoid) channel foreground where the probability is `threshold` or above.
 */
export function classIds(probs: Tensor, threshold = 0.5): Tensor {
  return tidy(() => (probs.shape[1] === 1 ? probs.ge(threshold).squeeze(1) : probs.argmax(1)).to('uint8'));
}

/** Start offsets of windows of `size` with stride `stride` covering `length` (the last one flush with the end). */
export function windowStarts(length: number, size: number, stride: number): number[] {
  if (length <= size) return [0];
  const starts: number[] = [];
  for (let s = 0; ; s += stride) {
    if (s + size >= length) {
      starts.push(length - size);
      return starts;
    }
    starts.push(s);
  }
}

/**
 * Logits of `model` over overlapping windows of x (N, C, H, W), averaged where windows overlap.
 * An image no larger than the window goes through whole.
 */
export async function slidingWindowLogits(model: Module | Forward, x: Tensor, window: SlidingWindow): Promise<Tensor> {
  const forward = forwardOf(model);
  const [wh, ww] = typeof window.size === 'number' ? [window.size, window.size] : window.size;
  const overlap = window.overlap ?? 1 / 3;
  if (!(overlap >= 0 && overlap < 1)) throw new Error(`sliding window: overlap must be in [0, 1), got ${overlap}`);
  if (!(wh >= 1 && ww >= 1)) throw new Error(`sliding window: size must be positive, got ${wh}x${ww}`);
  const [n, , h, w] = x.shape;
  if (h <= wh && w <= ww) return forward(x);
  const rows = windowStarts(h, Math.min(wh, h), Math.max(1, Math.round(wh * (1 - overlap))));
  const cols = windowStarts(w, Math.min(ww, w), Math.max(1, Math.round(ww * (1 - overlap))));
  const th = Math.min(wh, h);
  const tw = Math.min(ww, w);
  let sum: Tensor | undefined;
  const count = zeros([1, 1, h, w]);
  try {
    for (const top of rows) {
      for (const left of cols) {
        const tile = inferenceMode(() => tidy(() => x.narrow(2, top, th).narrow(3, left, tw)));
        const logits = await settle(forward, tile);
        inferenceMode(() => tidy(() => {
          sum ??= zeros([n, logits.shape[1], h, w]).keep();
          sum.narrow(2, top, th).narrow(3, left, tw).add_(logits);
          count.narrow(2, top, th).narrow(3, left, tw).add_(1);
        }));
        logits.dispose();
      }
    }
    return inferenceMode(() => sum!.div(count));
  } finally {
    sum?.dispose();
    count.dispose();
  }
}

/**
 * Class probabilities (N, K, H, W) at x's size, averaged over `scales` and, with `flip`, the
 * mirrored inputs; each pass whole or, with `window`, by sliding windows. A Module is run as it is
 * given (call model.eval() first) without recording gradients. The caller owns the result.
 */
export async function predictProbabilities(model: Module | Forward, x: Tensor, opts: InferenceOptions = {}): Promise<Tensor> {
  const forward = forwardOf(model);
  const scales = opts.scales ?? [1];
  if (scales.length === 0 || scales.some((s) => !(s > 0))) throw new Error(`predictProbabilities: scales must be positive numbers, got [${scales.join(', ')}]`);
  const [, , h, w] = x.shape;
  let total: Tensor | undefined;
  let passes = 0;
  try {
    for (const scale of scales) {
      for (const dims of flipPasses(opts.flip)) {
        const input = inferenceMode(() => tidy(() => {
          let i = scale === 1 ? x : F.interpolate(x, { size: [Math.max(1, Math.round(h * scale)), Math.max(1, Math.round(w * scale))], mode: 'bilinear', alignCorners: false });
          if (dims.length) i = op('flip', i, dims);
          return i;
        }));
        const logits = await settle((t) => (opts.window ? slidingWindowLogits(forward, t, opts.window) : forward(t)), input, input !== x);
        const p = inferenceMode(() => tidy(() => {
          let l = logits;
          if (dims.length) l = op('flip', l, dims);
          if (scale !== 1) l = F.interpolate(l, { size: [h, w], mode: 'bilinear', alignCorners: false });
          return toProbabilities(l);
        }));
        logits.dispose();
        if (total === undefined) total = p;
        else {
          inferenceMode(() => total!.add_(p));
          p.dispose();
        }
        passes++;
      }
    }
    return inferenceMode(() => total!.div(passes));
  } finally {
    total?.dispose();
  }
}

/** `fn(input)` awaited; `input` is disposed afterwards (unless `owned` is false), also when it throws. */
async function settle(fn: Forward, input: Tensor, owned = true): Promise<Tensor> {
  try {
    return await fn(input);
  } finally {
    if (owned) input.dispose();
  }
}
