// Inference beyond one forward pass: sliding windows for images larger than the training crop,
// and test-time augmentation (several scales, horizontal flip), as MMSegmentation's slide mode and
// multi-scale flip test do. Everything is averaged as class probabilities at the input's size.
//
//   const probs = predictProbabilities(model, x, { scales: [0.5, 0.75, 1, 1.25, 1.5, 1.75], flip: true,
//                                                  window: { size: 512, overlap: 1 / 3 } });
//   const mask = probs.argmax(1);
import { F, Tensor, inferenceMode, op, tidy, zeros } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { SegmentationOutput } from '../models/segmentation.js';

export interface SlidingWindow {
  /** Window side (or [height, width]), usually the training crop. */
  size: number | [number, number];
  /** Fraction of a window shared with its neighbour (default 1/3, MMSegmentation's 512/768 stride). */
  overlap?: number;
}

export interface InferenceOptions {
  /** Input scales to average (default [1]); each result is resized back to the input's size. */
  scales?: number[];
  /** Also average the horizontally flipped input (flipped back). */
  flip?: boolean;
  /** Run the model on overlapping windows instead of the whole (scaled) image. */
  window?: SlidingWindow;
}

/** The model's logits `out` for x: a tensor or `{ out }` output, both accepted. */
function logitsOf(model: Module, x: Tensor): Tensor {
  const y = (model as Module & { call(x: Tensor): Tensor | SegmentationOutput }).call(x);
  return y instanceof Tensor ? y : y.out;
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
export function slidingWindowLogits(model: Module, x: Tensor, window: SlidingWindow): Tensor {
  const [wh, ww] = typeof window.size === 'number' ? [window.size, window.size] : window.size;
  const overlap = window.overlap ?? 1 / 3;
  if (!(overlap >= 0 && overlap < 1)) throw new Error(`sliding window: overlap must be in [0, 1), got ${overlap}`);
  if (!(wh >= 1 && ww >= 1)) throw new Error(`sliding window: size must be positive, got ${wh}x${ww}`);
  const [n, , h, w] = x.shape;
  if (h <= wh && w <= ww) return logitsOf(model, x);
  const rows = windowStarts(h, Math.min(wh, h), Math.max(1, Math.round(wh * (1 - overlap))));
  const cols = windowStarts(w, Math.min(ww, w), Math.max(1, Math.round(ww * (1 - overlap))));
  const th = Math.min(wh, h);
  const tw = Math.min(ww, w);
  return tidy(() => {
    let sum: Tensor | undefined;
    const count = zeros([1, 1, h, w]);
    for (const top of rows) {
      for (const left of cols) {
        const logits = tidy(() => logitsOf(model, x.narrow(2, top, th).narrow(3, left, tw)));
        sum ??= zeros([n, logits.shape[1], h, w]);
        tidy(() => {
          sum!.narrow(2, top, th).narrow(3, left, tw).add_(logits);
          count.narrow(2, top, th).narrow(3, left, tw).add_(1);
        });
        logits.dispose();
      }
    }
    return sum!.div(count);
  });
}

/**
 * Class probabilities (N, K, H, W) at x's size, averaged over `scales` and, with `flip`, the
 * mirrored input; each pass whole or, with `window`, by sliding windows. The model is run in
 * eval mode as it is given (call model.eval() first) without recording gradients.
 */
export function predictProbabilities(model: Module, x: Tensor, opts: InferenceOptions = {}): Tensor {
  const scales = opts.scales ?? [1];
  if (scales.length === 0 || scales.some((s) => !(s > 0))) throw new Error(`predictProbabilities: scales must be positive numbers, got [${scales.join(', ')}]`);
  const [, , h, w] = x.shape;
  return inferenceMode(() =>
    tidy(() => {
      let total: Tensor | undefined;
      let passes = 0;
      for (const scale of scales) {
        for (const flipped of opts.flip ? [false, true] : [false]) {
          const p = tidy(() => {
            let input = scale === 1 ? x : F.interpolate(x, { size: [Math.max(1, Math.round(h * scale)), Math.max(1, Math.round(w * scale))], mode: 'bilinear', alignCorners: false });
            if (flipped) input = op('flip', input, [3]);
            let logits = opts.window ? slidingWindowLogits(model, input, opts.window) : logitsOf(model, input);
            if (flipped) logits = op('flip', logits, [3]);
            if (scale !== 1) logits = F.interpolate(logits, { size: [h, w], mode: 'bilinear', alignCorners: false });
            return toProbabilities(logits);
          });
          if (total === undefined) total = p;
          else {
            total.add_(p);
            p.dispose();
          }
          passes++;
        }
      }
      return total!.div(passes);
    }),
  );
}
