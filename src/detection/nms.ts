// Non-maximum suppression with torchvision.ops.nms / batched_nms semantics:
//   boxes are visited by score, highest first (ties by index: a stable sort, as torchvision's
//   CPU kernel); a box is kept unless an already kept box overlaps it with
//   IoU > iouThreshold (strictly); the result is the kept indices (int64) in that visiting order.
//
// On the CPU, float32 and float64 boxes go to segkit's native kernels (native/detection.cc:
// torchvision's nms_kernel and _batched_nms_vanilla in C++, the same arithmetic); other devices
// and dtypes sort with ATen and run the greedy pass of nms-greedy.ts (an IoU matrix on the device).
// Speed (bench/micro/detection-ops.ts, 1 thread, busy 2-core machine): 4507 random boxes 9 ms
// (the JavaScript scan before: 118-146 ms, torchvision 126-148 ms); 90000 boxes in 90 categories
// (Mask R-CNN's postprocess with score threshold 0) 60 ms (torchvision 520-550 ms).
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import { tensor, empty, zeros } from '../torch/create.js';
import type { Tensor } from '../torch/tensor.js';
import { checkBoxes } from './boxes.js';
import { keepByMatrix, keepByScan } from './nms-greedy.js';
import { batchedNmsPerCategoryKernel, nmsKernel } from './kernels.js';

function checkInputs(who: string, boxes: Tensor, scores: Tensor): void {
  checkBoxes(who, boxes);
  if (scores.ndim !== 1 || scores.size(0) !== boxes.size(0)) {
    throw new Error(`${who}: scores must have shape (N) = [${boxes.size(0)}] to match boxes [${boxes.shape}]; got [${scores.shape}]`);
  }
  if (scores.dtype !== boxes.dtype) throw new Error(`${who}: boxes (${boxes.dtype}) and scores (${scores.dtype}) must have the same dtype (as torchvision requires); convert one with .to()`);
}

const emptyIndices = (like: Tensor): Tensor => empty([0], { dtype: 'int64', device: like.device });

// native/detection.cc's kernels take CPU float32/float64 boxes (torchvision's CPU kernel's dtypes)
const nativeKernel = (boxes: Tensor): boolean => boxes.device === 'cpu' && (boxes.dtype === 'float32' || boxes.dtype === 'float64');

/** Indices (int64) of the boxes kept by non-maximum suppression, by decreasing score. */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  checkInputs('nms', boxes, scores);
  const n = boxes.size(0);
  if (n === 0) return emptyIndices(boxes);
  if (nativeKernel(boxes)) return nmsKernel(boxes, scores, iouThreshold);
  return tidy(() => {
    // torchvision 0.14's CPU kernel sorts stably (ties by index); checked on tied fixtures
    const order = op('sort.stable', scores, true, 0, true)[1];
    let sorted = boxes.indexSelect(0, order);
    if (sorted.dtype !== 'float32' && sorted.dtype !== 'float64') sorted = sorted.float(); // half, ints: as float32
    const kept = sorted.device === 'cpu' ? keepByScan(sorted, iouThreshold) : keepByMatrix(sorted, iouThreshold);
    return order.indexSelect(0, tensor(BigInt64Array.from(kept, BigInt)).to({ device: boxes.device }));
  });
}

/**
 * NMS within each category: boxes with different `idxs` (int64, (N)) never suppress each other.
 * As torchvision 0.14: up to 1000 CPU boxes (5000 on other devices) shift each category's boxes
 * apart by idx·(max coordinate + 1) and run one nms; above that, one nms per category, then the
 * kept indices are ordered by score.
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  checkInputs('batchedNms', boxes, scores);
  if (idxs.ndim !== 1 || idxs.size(0) !== boxes.size(0)) {
    throw new Error(`batchedNms: idxs must have shape (N) = [${boxes.size(0)}] to match boxes [${boxes.shape}]; got [${idxs.shape}]`);
  }
  if (boxes.size(0) === 0) return emptyIndices(boxes);
  const limit = boxes.device === 'cpu' ? 4000 : 20000; // torchvision compares boxes.numel()
  if (boxes.numel > limit) return batchedNmsPerCategory(boxes, scores, idxs, iouThreshold);
  return tidy(() => {
    const offsets = idxs.to(boxes.dtype).mul(boxes.max().add(1));
    return nms(boxes.add(offsets.unsqueeze(1)), scores, iouThreshold);
  });
}

function batchedNmsPerCategory(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  if (nativeKernel(boxes)) return batchedNmsPerCategoryKernel(boxes, scores, idxs, iouThreshold);
  return tidy(() => {
    const cats = idxs.toArray();
    const members = new Map<number, number[]>();
    cats.forEach((c, i) => (members.get(c) ?? members.set(c, []).get(c)!).push(i));
    const keepMask = zeros([cats.length], { dtype: 'bool', device: boxes.device });
    for (const ids of members.values()) {
      tidy(() => {
        const sel = tensor(BigInt64Array.from(ids, BigInt)).to({ device: boxes.device });
        const kept = sel.indexSelect(0, nms(boxes.indexSelect(0, sel), scores.indexSelect(0, sel), iouThreshold));
        op('index_fill_.int_Scalar', keepMask, 0, kept, true);
      });
    }
    const keepIndices = op('nonzero', keepMask).reshape(-1);
    // torchvision's Python here calls the default (unstable) sort: the same libtorch op orders ties alike
    const byScore = op('sort', scores.indexSelect(0, keepIndices), 0, true)[1];
    return keepIndices.indexSelect(0, byScore);
  });
}
