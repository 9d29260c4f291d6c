// The greedy pass of NMS over boxes already sorted by score: walk them in order, keep a box unless
// a kept one overlaps it with IoU > threshold. CPU float32/float64 boxes go to the native kernel
// (native/detection.cc) instead; what is left comes here, two ways, chosen by device in nms.ts:
//
// - keepByScan (CPU, other dtypes computed as float32): the boxes are read into JavaScript and compared pair by pair exactly as
//   torchvision's CPU kernel does, skipping suppressed boxes. Float32 boxes are computed with each
//   step rounded by Math.fround, which is float32 arithmetic exactly, so the IoU values and hence
//   the kept sets are the kernel's bit for bit. About 10x faster than the matrix for 1000 boxes
//   (no N×N temporaries), and the scan stops work on a box once it is suppressed.
// - keepByMatrix (other devices): the IoU > threshold test of every pair is computed with ATen
//   ops on the device, in blocks of rows so memory stays at BLOCK·N bytes, and only the 0/1 matrix
//   comes back for the sequential pass.
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';

const BLOCK_ELEMENTS = 1 << 22; // rows per block = BLOCK_ELEMENTS / N

/** Positions (in the sorted order) of the kept boxes; `sorted` is (N, 4) float32 or float64 on the CPU. */
export function keepByScan(sorted: Tensor, iouThreshold: number): number[] {
  const b = sorted.contiguous().data() as Float32Array | Float64Array;
  const r = b instanceof Float32Array ? Math.fround : (v: number) => v;
  const n = b.length / 4;
  const areas = new Float64Array(n);
  for (let i = 0; i < n; i++) areas[i] = r(r(b[4 * i + 2] - b[4 * i]) * r(b[4 * i + 3] - b[4 * i + 1]));
  const suppressed = new Uint8Array(n);
  const kept: number[] = [];
  // boxes that do not intersect have IoU 0 (or 0/0): never above a threshold ≥ 0, so skipped early
  const skipDisjoint = iouThreshold >= 0;
  for (let i = 0; i < n; i++) {
    if (suppressed[i]) continue;
    kept.push(i);
    const ix1 = b[4 * i], iy1 = b[4 * i + 1], ix2 = b[4 * i + 2], iy2 = b[4 * i + 3];
    for (let j = i + 1; j < n; j++) {
      if (suppressed[j]) continue;
      // std::max(0, v) as in the kernel: a negative or NaN width counts as 0
      let w = r(Math.min(ix2, b[4 * j + 2]) - Math.max(ix1, b[4 * j]));
      let h = r(Math.min(iy2, b[4 * j + 3]) - Math.max(iy1, b[4 * j + 1]));
      if (!(w > 0 && h > 0)) {
        if (skipDisjoint) continue;
        if (!(w > 0)) w = 0;
        if (!(h > 0)) h = 0;
      }
      const inter = r(w * h);
      const iou = r(inter / r(r(areas[i] + areas[j]) - inter));
      if (iou > iouThreshold) suppressed[j] = 1;
    }
  }
  return kept;
}

/** As keepByScan, for boxes on any device (float types); the arithmetic runs there, in their dtype. */
export function keepByMatrix(sorted: Tensor, iouThreshold: number): number[] {
  return tidy(() => {
    const n = sorted.size(0);
    const [x1, y1, x2, y2] = op('unbind.int', sorted, 1);
    const areas = x2.sub(x1).mul(y2.sub(y1));
    const suppressed = new Uint8Array(n);
    const kept: number[] = [];
    const rows = Math.max(1, Math.floor(BLOCK_ELEMENTS / n));
    for (let start = 0; start < n; start += rows) {
      const len = Math.min(rows, n - start);
      const over = tidy(() => overlapsTooMuch(x1, y1, x2, y2, areas, start, len, iouThreshold).data() as Uint8Array);
      for (let k = 0; k < len; k++) {
        const i = start + k;
        if (suppressed[i]) continue;
        kept.push(i);
        for (let j = i + 1; j < n; j++) if (over[k * n + j]) suppressed[j] = 1;
      }
    }
    return kept;
  });
}

// Rows [start, start+len) of the pairwise test IoU > threshold as a (len, N) uint8 CPU matrix,
// with the kernel's arithmetic: inter / (area_i + area_j − inter). The kernel compares the IoU
// with the threshold as a double, so the IoU is widened before the comparison.
function overlapsTooMuch(x1: Tensor, y1: Tensor, x2: Tensor, y2: Tensor, areas: Tensor, start: number, len: number, thr: number): Tensor {
  const rows = (t: Tensor): Tensor => t.narrow(0, start, len).unsqueeze(1);
  const w = op('minimum', rows(x2), x2).sub(op('maximum', rows(x1), x1)).clamp(0);
  const h = op('minimum', rows(y2), y2).sub(op('maximum', rows(y1), y1)).clamp(0);
  const inter = w.mul(h);
  const iou = inter.div(rows(areas).add(areas).sub(inter));
  return iou.double().gt(thr).to({ dtype: 'uint8', device: 'cpu' });
}
