// Typed entries to the CPU kernels of native/detection.cc (libtorch ops in the "segkit"
// namespace, called like ATen ops). Each mirrors a torchvision 0.14 CPU kernel in its arithmetic;
// callers check device and dtype (CPU, float32 or float64) before calling.
import { callOp } from '../torch/dispatch.js';
import type { Tensor } from '../torch/tensor.js';

/** torchvision's nms kernel: kept indices (int64) by decreasing score (stable for ties). */
export const nmsKernel = (boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor => callOp('segkit::nms', boxes, scores, iouThreshold);

/** torchvision's _batched_nms_vanilla: one nms per category, then the kept indices by score. */
export const batchedNmsPerCategoryKernel = (boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor =>
  callOp('segkit::batched_nms_per_category', boxes, scores, idxs, iouThreshold);

/** The RoIAlign forward without autograd: (K, C, outH, outW), NCHW or channels-last input. */
export const roiAlignKernel = (input: Tensor, rois: Tensor, spatialScale: number, outH: number, outW: number, samplingRatio: number, aligned: boolean): Tensor =>
  callOp('segkit::roi_align', input, rois, spatialScale, outH, outW, samplingRatio, aligned);

/** The (pixel, weight) pairs of every output bin for the embedding_bag path, with bag offsets and per-box divisors. */
export function roiAlignPlanKernel(rois: Tensor, n: number, h: number, w: number, spatialScale: number, outH: number, outW: number, samplingRatio: number, aligned: boolean): { pixels: Tensor; weights: Tensor; offsets: Tensor; counts: Tensor } {
  const [pixels, weights, offsets, counts] = callOp('segkit::roi_align_plan', rois, n, h, w, spatialScale, outH, outW, samplingRatio, aligned) as Tensor[];
  return { pixels, weights, offsets, counts };
}
