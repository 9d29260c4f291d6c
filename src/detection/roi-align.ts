// RoIAlign (He et al. 2017, Mask R-CNN) with torchvision.ops.roi_align's numerics: each output bin
// of a box averages grid_h × grid_w bilinear samples of the feature map, where the grid is
// `samplingRatio` per side, or ceil(box size / bins) per box when samplingRatio ≤ 0; samples more
// than one pixel outside the map count as 0, samples within a pixel of the border are clamped to it;
// `aligned` shifts box coordinates by −0.5 pixel (Detectron2), otherwise boxes are at least 1×1.
//
// How: the sample positions and bilinear weights depend only on the boxes, so they are computed
// here in JavaScript (in float32 arithmetic via Math.fround when the input is float32, exactly as
// the kernel rounds), giving for every output bin a list of (pixel, weight) pairs. One ATen
// embedding_bag in 'sum' mode with per-sample weights then gathers them from the feature map
// viewed as (N·H·W, C) rows. That op exists on every libtorch device and has its own backward,
// so autograd yields the gradient w.r.t. the input (torchvision's _roi_align_backward), and no
// (samples × C) intermediate is ever built. Boxes get no gradient, as in torchvision.
// One difference: an aligned box inverted along one side only, with adaptive sampling, makes
// torchvision 0.14 fail (a negative vector size); here it pools to zeros, as inverted boxes do there.
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import { cat, full, tensor } from '../torch/create.js';
import type { Tensor } from '../torch/tensor.js';

export interface RoIAlignOptions {
  /** Maps box coordinates to the feature map (1/stride), default 1. */
  spatialScale?: number;
  /** Samples per bin side; ≤ 0 (default −1) adapts to the box: ceil(box size / output size). */
  samplingRatio?: number;
  /** Shift boxes by −0.5 pixel (Detectron2's RoIAlign, default false: the original one). */
  aligned?: boolean;
}

/** Per-image (L_i, 4) boxes → (ΣL_i, 5) rows (batch index, x1, y1, x2, y2), as torchvision's convert_boxes_to_roi_format. */
export function convertBoxesToRoiFormat(boxes: Tensor[]): Tensor {
  return tidy(() => {
    const rows = boxes.map((b, i) => cat([full([b.size(0), 1], i, { dtype: b.dtype, device: b.device }), b], 1));
    return cat(rows, 0);
  });
}

/**
 * Pools every box of `boxes` (a (K, 5) tensor of (batch index, x1, y1, x2, y2), or one (L, 4)
 * tensor per image) from `input` (N, C, H, W) into (K, C, outH, outW). Boxes have the input's
 * dtype; a float16/bfloat16 input (autocast) is pooled in float32 with boxes of any float dtype.
 */
export function roiAlign(input: Tensor, boxes: Tensor | Tensor[], outputSize: number | [number, number], opts: RoIAlignOptions = {}): Tensor {
  const { spatialScale = 1, samplingRatio = -1, aligned = false } = opts;
  const [outH, outW] = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (input.ndim !== 4) throw new Error(`roiAlign: input must be (N, C, H, W); got shape [${input.shape}]`);
  return tidy(() => {
    const rois = Array.isArray(boxes) ? convertBoxesToRoiFormat(boxes) : boxes;
    if (rois.ndim !== 2 || rois.size(1) !== 5) {
      throw new Error(`roiAlign: boxes must be a (K, 5) tensor of (batch index, x1, y1, x2, y2) or a list of (L, 4) tensors; got shape [${rois.shape}]`);
    }
    if (input.dtype === 'float16' || input.dtype === 'bfloat16') {
      // as torchvision under autocast: pool in float32 (boxes too), return the input's dtype
      return roiAlign(input.float(), rois.float(), outputSize, opts).to(input.dtype);
    }
    if (rois.dtype !== input.dtype) throw new Error(`roiAlign: boxes (${rois.dtype}) and input (${input.dtype}) must have the same dtype, as torchvision requires; convert the boxes with .to('${input.dtype}')`);
    const [n, c, h, w] = input.shape;
    const k = rois.size(0);
    const rowsOf = input.permute(0, 2, 3, 1).reshape(n * h * w, c); // (N·H·W, C): one row per pixel
    if (k === 0) return rowsOf.narrow(0, 0, 0).reshape(0, outH, outW, c).permute(0, 3, 1, 2).contiguous();
    const plan = samplingPlan(rois.cpu().data() as Float32Array | Float64Array, { n, h, w, outH, outW, spatialScale, samplingRatio, aligned, float32: input.dtype === 'float32' });
    const device = input.device;
    const [sums] = op('embedding_bag', rowsOf,
      tensor(plan.pixels, { dtype: 'int64', device }), tensor(plan.bagStarts, { dtype: 'int64', device }),
      false, 0 /* sum */, false, tensor(plan.weights, { dtype: input.dtype, device }), false);
    const counts = tensor(plan.counts, { dtype: input.dtype, device }).reshape(k, 1, 1, 1);
    // (K·outH·outW, C) → (K, C, outH, outW); the kernel divides each bin's sum by the sample count
    return sums.reshape(k, outH, outW, c).permute(0, 3, 1, 2).div(counts).contiguous();
  });
}

interface PlanShape {
  n: number;
  h: number;
  w: number;
  outH: number;
  outW: number;
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
  float32: boolean;
}

interface SamplingPlan {
  /** Row of (N·H·W, C) for every (sample, corner) pair, bag after bag. */
  pixels: Int32Array;
  /** Bilinear weight of each pair. */
  weights: Float64Array;
  /** Where each output bin's pairs start in `pixels` (K·outH·outW). */
  bagStarts: Int32Array;
  /** Samples per bin of each box (at least 1): the divisor of the average. */
  counts: Float64Array;
}

// (pixel, weight) pairs in typed arrays that double when full. There are about 4 pairs per
// sample: with samplingRatio 2, 16 per bin (512 boxes of 7×7 bins: 400k pairs, 5 MB); adaptive
// sampling takes about one sample per feature pixel a box covers.
class Pairs {
  pixels = new Int32Array(1024);
  weights = new Float64Array(1024);
  length = 0;

  push(pixel: number, weight: number): void {
    if (this.length === this.pixels.length) {
      const pixels = new Int32Array(this.length * 2);
      const weights = new Float64Array(this.length * 2);
      pixels.set(this.pixels);
      weights.set(this.weights);
      this.pixels = pixels;
      this.weights = weights;
    }
    this.pixels[this.length] = pixel;
    this.weights[this.length++] = weight;
  }
}

// The kernel's per-box set-up and bilinear pre-computation, in its order of operations; `r`
// rounds each step to float32 when the input is float32 (Math.fround), so floors and bounds
// tests fall exactly where the kernel's do.
function samplingPlan(rois: Float32Array | Float64Array, s: PlanShape): SamplingPlan {
  const r = s.float32 ? Math.fround : (x: number) => x;
  const k = rois.length / 5;
  const bins = s.outH * s.outW;
  const pairs = new Pairs();
  const bagStarts = new Int32Array(k * bins);
  const counts = new Float64Array(k);
  const scale = r(s.spatialScale);
  const offset = s.aligned ? 0.5 : 0;
  for (let roi = 0; roi < k; roi++) {
    const [bi, bx1, by1, bx2, by2] = rois.subarray(roi * 5, roi * 5 + 5);
    const batch = Math.trunc(bi);
    if (!(batch >= 0 && batch < s.n)) throw new Error(`roiAlign: box ${roi} has batch index ${bi}, outside the input's batch of ${s.n}`);
    const startW = r(r(bx1 * scale) - offset);
    const startH = r(r(by1 * scale) - offset);
    let roiW = r(r(r(bx2 * scale) - offset) - startW);
    let roiH = r(r(r(by2 * scale) - offset) - startH);
    if (!s.aligned) {
      roiW = Math.max(roiW, 1); // malformed boxes become 1×1
      roiH = Math.max(roiH, 1);
    }
    const binH = r(roiH / s.outH);
    const binW = r(roiW / s.outW);
    const gridH = s.samplingRatio > 0 ? s.samplingRatio : Math.trunc(Math.ceil(r(roiH / s.outH)));
    const gridW = s.samplingRatio > 0 ? s.samplingRatio : Math.trunc(Math.ceil(r(roiW / s.outW)));
    counts[roi] = Math.max(gridH * gridW, 1);
    const base = batch * s.h * s.w;
    for (let ph = 0; ph < s.outH; ph++) {
      for (let pw = 0; pw < s.outW; pw++) {
        bagStarts[roi * bins + ph * s.outW + pw] = pairs.length;
        for (let iy = 0; iy < gridH; iy++) {
          const y = r(r(startH + r(ph * binH)) + r(r((iy + 0.5) * binH) / gridH));
          for (let ix = 0; ix < gridW; ix++) {
            const x = r(r(startW + r(pw * binW)) + r(r((ix + 0.5) * binW) / gridW));
            addSample(y, x, s.h, s.w, base, r, pairs);
          }
        }
      }
    }
  }
  return { pixels: pairs.pixels.subarray(0, pairs.length), weights: pairs.weights.subarray(0, pairs.length), bagStarts, counts };
}

// One bilinear sample at (y, x): four (pixel, weight) pairs; none when the sample lies more than
// one pixel outside the map or is NaN (the kernel's zero weights would add nothing).
function addSample(y: number, x: number, h: number, w: number, base: number, r: (v: number) => number, pairs: Pairs): void {
  if (!(y >= -1 && y <= h && x >= -1 && x <= w)) return;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  let yLow = Math.trunc(y);
  let xLow = Math.trunc(x);
  let yHigh = yLow + 1;
  let xHigh = xLow + 1;
  if (yLow >= h - 1) {
    yHigh = yLow = h - 1;
    y = yLow;
  }
  if (xLow >= w - 1) {
    xHigh = xLow = w - 1;
    x = xLow;
  }
  const ly = r(y - yLow);
  const lx = r(x - xLow);
  const hy = r(1 - ly);
  const hx = r(1 - lx);
  pairs.push(base + yLow * w + xLow, r(hy * hx));
  pairs.push(base + yLow * w + xHigh, r(hy * lx));
  pairs.push(base + yHigh * w + xLow, r(ly * hx));
  pairs.push(base + yHigh * w + xHigh, r(ly * lx));
}
