// RoIAlign (He et al. 2017, Mask R-CNN) with torchvision.ops.roi_align's numerics: each output bin
// of a box averages grid_h × grid_w bilinear samples of the feature map, where the grid is
// `samplingRatio` per side, or ceil(box size / bins) per box when samplingRatio ≤ 0; samples more
// than one pixel outside the map count as 0, samples within a pixel of the border are clamped to it;
// `aligned` shifts box coordinates by −0.5 pixel (Detectron2), otherwise boxes are at least 1×1.
//
// How, without a gradient (inference, or an input that does not require one) on the CPU:
// native/detection.cc's forward kernel, torchvision's loop in C++ with its float arithmetic; on
// channels-last input (or with many samples per pixel, after one channels-last copy) each sample
// reads contiguous rows of C values, so the channel loop vectorises.
// With a gradient, or on another device: the sample positions and bilinear weights depend only on
// the boxes, so the native plan kernel (same arithmetic) lists for every output bin its (pixel,
// weight) pairs. One ATen embedding_bag in 'sum' mode with per-sample weights then gathers them
// from the feature map viewed as (N·H·W, C) rows. That op exists on every libtorch device and has
// its own backward, so autograd yields the gradient w.r.t. the input (torchvision's
// _roi_align_backward), and no (samples × C) intermediate is ever built. Boxes get no gradient,
// as in torchvision.
// Speed (bench/micro/detection-ops.ts, MultiScaleRoIAlign over an 800x800 image's 4 FPN levels,
// 1 thread, median ms): 1000 boxes 7x7 eval 137 (NCHW) / 97 (channels-last), torchvision 399 /
// 405; 14x14 eval 265 / 189, torchvision 1056 / 1123; 2x512 boxes 7x7 forward and backward 313-405 /
// 191, torchvision 1526 / 2014.
// One difference: an aligned box inverted along one side only, with adaptive sampling, makes
// torchvision 0.14 fail (a negative vector size); here it pools to zeros, as inverted boxes do there.
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import { cat, full } from '../torch/create.js';
import { isGradEnabled } from '../torch/modes.js';
import type { Tensor } from '../torch/tensor.js';
import { roiAlignKernel, roiAlignPlanKernel } from './kernels.js';

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
    const device = input.device;
    if (device === 'cpu' && !(isGradEnabled() && input.requiresGrad) && rois.device === 'cpu') {
      // no gradient wanted: native/detection.cc's forward kernel, on NCHW or channels-last input
      return roiAlignKernel(input, rois, spatialScale, outH, outW, samplingRatio, aligned);
    }
    const rowsOf = input.permute(0, 2, 3, 1).reshape(n * h * w, c); // (N·H·W, C): one row per pixel
    if (k === 0) return rowsOf.narrow(0, 0, 0).reshape(0, outH, outW, c).permute(0, 3, 1, 2).contiguous();
    const plan = roiAlignPlanKernel(rois.cpu(), n, h, w, spatialScale, outH, outW, samplingRatio, aligned);
    const [sums] = op('embedding_bag', rowsOf,
      plan.pixels.to({ device }), plan.offsets.to({ device }),
      false, 0 /* sum */, false, plan.weights.to({ device }), false);
    const counts = plan.counts.to({ device }).reshape(k, 1, 1, 1);
    // (K·outH·outW, C) → (K, C, outH, outW); the kernel divides each bin's sum by the sample count
    return sums.reshape(k, outH, outW, c).permute(0, 3, 1, 2).div(counts).contiguous();
  });
}
