// Non-maximum suppression with torchvision.ops.nms / batched_nms semantics:
//   boxes are visited by score, highest first (ties by index: a stable sort, as torchvision's
//   CPU kernel); a box is kept unless an already kept box overlaps it with
//   IoU > iouThreshold (strictly); the result is the kept indices (int64) in that visiting order.
//
// Built from ATen ops plus one loop in JavaScript, not a native kernel: the IoU of every pair is
// a few broadcast ops on any device, and only the greedy pass is sequential. It runs over a
// 0/1 "overlaps too much" matrix read back in blocks of rows, so memory stays at BLOCK·N bytes.
// For 1000 boxes that is one 1 MB block and a loop of 500k steps (a few ms), which is where
// Mask R-CNN calls it (≤ 1000 boxes per class or level); a native kernel would not change that.
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import { tensor, empty, zeros } from '../torch/create.js';
import type { Tensor } from '../torch/tensor.js';
import { checkBoxes } from './boxes.js';

const BLOCK_ELEMENTS = 1 << 22; // rows per block = BLOCK_ELEMENTS / N

function checkInputs(who: string, boxes: Tensor, scores: Tensor): void {
  checkBoxes(who, boxes);
  if (scores.ndim !== 1 || scores.size(0) !== boxes.size(0)) {
    throw new Error(`${who}: scores must have shape (N) = [${boxes.size(0)}] to match boxes [${boxes.shape}]; got [${scores.shape}]`);
  }
  if (scores.dtype !== boxes.dtype) throw new Error(`${who}: boxes (${boxes.dtype}) and scores (${scores.dtype}) must have the same dtype (as torchvision requires); convert one with .to()`);
}

const emptyIndices = (like: Tensor): Tensor => empty([0], { dtype: 'int64', device: like.device });

/** Indices (int64) of the boxes kept by non-maximum suppression, by decreasing score. */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  checkInputs('nms', boxes, scores);
  const n = boxes.size(0);
  if (n === 0) return emptyIndices(boxes);
  return tidy(() => {
    // torchvision 0.14's CPU kernel sorts stably (ties by index); checked on tied fixtures
    const order = op('sort.stable', scores, true, 0, true)[1];
    const sorted = boxes.indexSelect(0, order);
    const [x1, y1, x2, y2] = op('unbind.int', sorted, 1);
    const areas = x2.sub(x1).mul(y2.sub(y1));
    const suppressed = new Uint8Array(n);
    const kept: number[] = [];
    const rows = Math.max(1, Math.floor(BLOCK_ELEMENTS / n));
    for (let start = 0; start < n; start += rows) {
      const len = Math.min(rows, n - start);
      const over = tidy(() => overlapsTooMuch(x1, y1, x2, y2, areas, start, len, iouThreshold).data() as Uint8Array);
      for (let r = 0; r < len; r++) {
        const i = start + r;
        if (suppressed[i]) continue;
        kept.push(i);
        const row = r * n;
        for (let j = i + 1; j < n; j++) if (over[row + j]) suppressed[j] = 1;
      }
    }
    const keptSorted = tensor(BigInt64Array.from(kept, BigInt)).to({ device: boxes.device });
    return order.indexSelect(0, keptSorted);
  });
}

// Rows [start, start+len) of the (sorted) pairwise test IoU > threshold, as a uint8 (len, N) matrix.
// The arithmetic is the kernel's, in the boxes' dtype: inter / (area_i + area_j − inter). The
// comparison is made in float64 because the kernel compares its IoU with the double threshold.
function overlapsTooMuch(x1: Tensor, y1: Tensor, x2: Tensor, y2: Tensor, areas: Tensor, start: number, len: number, thr: number): Tensor {
  const rows = (t: Tensor): Tensor => t.narrow(0, start, len).unsqueeze(1);
  const w = op('minimum', rows(x2), x2).sub(op('maximum', rows(x1), x1)).clamp(0);
  const h = op('minimum', rows(y2), y2).sub(op('maximum', rows(y1), y1)).clamp(0);
  const inter = w.mul(h);
  const iou = inter.div(rows(areas).add(areas).sub(inter));
  return iou.double().gt(thr).to({ dtype: 'uint8', device: 'cpu' });
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
