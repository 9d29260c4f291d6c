// The libtorch side of the confusion matrix: one batch of predictions and targets in, each
// image's C x C counts out (rows truth, columns prediction), as float64 in JS.
//
// Each pixel becomes one counter index, pred + C * target, and libtorch counts them in int64
// (scatter_add_ of ones into one row of counters per image: the counts of torch.bincount, in one
// pass over the pixels instead of bincount's three, and every image at once). With an ignore
// index at or above C (255 in most datasets) no mask is built at all: the ignored pixels fall in
// the counters of "row 255", past the C x C block, and are counted there. Any other counter past
// the block means a target value that is neither a class nor the ignore index: an error that
// names the value. A small or negative ignore index takes the masked path instead.
import { noGrad, ones, op, tidy, isFloating, zeros, type Tensor } from '../torch/index.js';

export interface CountOptions {
  numClasses: number;
  /** Target value left out of every count; null: none. */
  ignoreIndex: number | null;
  /** Probability above which a binary (one-channel) prediction is foreground. */
  threshold: number;
  /** What a one-channel float prediction holds. */
  binaryInput: 'logits' | 'probabilities';
}

/** Per-image counts: `counts` holds `images` consecutive C x C row-major matrices. */
export interface BatchCounts {
  images: number;
  counts: Float64Array;
}

// Above this many counters per image the ignore index is masked rather than counted in its own
// row (which would make each image's row of counters (ignore + 1) * C long).
const MAX_BINS = 1 << 16;

const where = 'ConfusionMatrix.update';
const fmt = (shape: number[]) => `[${shape.join(', ')}]`;

export function batchCounts(pred: Tensor, target: Tensor, o: CountOptions): BatchCounts {
  return noGrad(() =>
    tidy(() => {
      const single = target.ndim === 2; // one (H, W) image and its prediction
      const t = targetIndices(single ? target.unsqueeze(0) : target);
      const p = predIndices(single ? pred.unsqueeze(0) : pred, t, o);
      return countImages(p, t, o);
    }),
  );
}

/** The target as (N, H, W) integers ((N, 1, H, W) is squeezed). */
function targetIndices(target: Tensor): Tensor {
  const dtype = target.dtype;
  if (isFloating(dtype)) {
    throw new TypeError(`${where}: the target must hold class indices (an integer or bool tensor), got ${dtype}; convert it with target.long() (binary float masks: target.gt(0.5))`);
  }
  const shape = target.shape;
  if (shape.length === 4 && shape[1] === 1) return target.squeeze(1);
  if (shape.length !== 3) throw new RangeError(`${where}: the target must be (N, H, W) class indices (or (H, W), or (N, 1, H, W)), got shape ${fmt(shape)}`);
  return target;
}

/** The prediction as class indices shaped like `t`: indices as they are, logits argmax, binary maps thresholded. */
function predIndices(pred: Tensor, t: Tensor, o: CountOptions): Tensor {
  const C = o.numClasses;
  const want = t.shape;
  const shape = pred.shape;
  const same = (s: number[]) => s.length === want.length && s.every((v, i) => v === want[i]);
  let p = pred;
  const channels = shape.length === want.length + 1 && same([shape[0]!, ...shape.slice(2)]) ? shape[1]! : undefined;
  const expected = `class indices ${fmt(want)}, logits [${want[0]}, ${C}, ${want.slice(1).join(', ')}]` + (C === 2 ? ` or one logit/probability map [${want[0]}, 1, ${want.slice(1).join(', ')}]` : '');
  if (!isFloating(p.dtype)) {
    if (channels === 1) p = p.squeeze(1);
    else if (!same(p.shape)) throw new RangeError(`${where}: prediction shape ${fmt(pred.shape)} does not fit the target ${fmt(t.shape)}; pass ${expected}`);
    checkRange(p, C);
    return p;
  }
  if (channels === C) return p.argmax(1);
  if (C === 2 && (channels === 1 || same(p.shape))) {
    const map = channels === 1 ? p.squeeze(1) : p;
    const cut = o.binaryInput === 'logits' ? Math.log(o.threshold / (1 - o.threshold)) : o.threshold;
    return map.gt(cut);
  }
  throw new RangeError(`${where}: prediction shape ${fmt(pred.shape)} (${p.dtype}) does not fit the target ${fmt(t.shape)} with numClasses ${C}; pass ${expected}`);
}

function checkRange(p: Tensor, C: number): void {
  if (p.numel === 0) return;
  if (p.dtype === 'bool') {
    if (C < 2) throw new RangeError(`${where}: a bool prediction needs numClasses >= 2, got ${C}`);
    return;
  }
  const [lo, hi] = op('aminmax', p);
  const min = lo!.item();
  const max = hi!.item();
  if (min < 0 || max >= C) {
    throw new RangeError(`${where}: predicted class indices must lie in [0, ${C}), got values from ${min} to ${max}; check numClasses, or pass the logits`);
  }
}

function countImages(p: Tensor, t: Tensor, o: CountOptions): BatchCounts {
  const C = o.numClasses;
  const CC = C * C;
  const N = t.shape[0]!;
  const perImage = N === 0 ? 0 : t.numel / N;
  if (perImage === 0) return { images: N, counts: new Float64Array(N * CC) };

  // pred + C * target must not overflow: compute in int64 unless one side already is
  if (p.dtype !== 'int64' && t.dtype !== 'int64') p = p.long();
  const ignore = o.ignoreIndex;
  let idx: Tensor;
  let ignoreRow: number; // the row of bins that holds the ignored pixels (-1: none)
  if (ignore === null || (ignore >= C && (ignore + 1) * C <= MAX_BINS)) {
    idx = p.add(t, C);
    ignoreRow = ignore ?? -1;
  } else {
    const mask = t.eq(ignore);
    const kept = t.maskedFill(mask, 0);
    const [lo, hi] = op('aminmax', kept);
    if (lo!.item() < 0 || hi!.item() >= C) {
      throw new RangeError(`${where}: target values must be classes in [0, ${C}) or the ignore index ${ignore}, got values from ${lo!.item()} to ${hi!.item()}`);
    }
    idx = p.add(kept, C).maskedFill(mask, CC);
    ignoreRow = C;
  }

  // one row of counters per image: pixel i of image n adds 1 to counter idx[n, i]; scatter_add_
  // fills every image's row in one pass (rows in parallel), checking each index's bounds
  const rows = idx.reshape([N, perImage]);
  const width = (Math.max(ignoreRow, C - 1) + 1) * C;
  if (idx.device !== 'cpu') {
    // on a GPU an index out of bounds is a device-side assert, not an error: check first
    const [lo, hi] = op('aminmax', idx);
    if (lo!.item() < 0 || hi!.item() >= width) throw badTargets(rows, C, ignoreRow, ignore);
  }
  const bins = zeros([N, width], { dtype: 'int64', device: idx.device });
  try {
    op('scatter_add_', bins, 1, rows, ones([1, 1], { dtype: 'int64', device: idx.device }).expand([N, perImage]));
  } catch (e) {
    throw badTargets(rows, C, ignoreRow, ignore, e);
  }
  const counts = bins.narrow(1, 0, CC).double().contiguous().data() as Float64Array;
  if (ignoreRow < 0) return { images: N, counts };

  // the ignored pixels sit in their own row of counters; a pixel in neither that row nor the
  // C x C block has a target that is not a class (C <= target < ignore index)
  const ignored = bins.narrow(1, ignoreRow * C, C).sum(1).double().data() as Float64Array;
  for (let n = 0; n < N; n++) {
    let counted = ignored[n]!;
    for (let i = n * CC; i < (n + 1) * CC; i++) counted += counts[i]!;
    if (counted !== perImage) throw badTargets(rows, C, ignoreRow, ignore);
  }
  return { images: N, counts };
}

/** The error for targets that are not classes: which image, which values, how many pixels. */
function badTargets(rows: Tensor, C: number, ignoreRow: number, ignore: number | null, cause?: unknown): RangeError {
  const ign = ignore === null ? 'no ignore index is set' : `the ignore index is ${ignore}`;
  for (let n = 0; n < rows.shape[0]!; n++) {
    let all: Float64Array;
    try {
      all = rows.select(0, n).bincount().double().data() as Float64Array;
    } catch (e) {
      return new RangeError(`${where}: image ${n} of the batch has negative target values; targets must be classes in [0, ${C}), and ${ign}`, { cause: e });
    }
    const bad = new Map<number, number>();
    for (let i = C * C; i < all.length; i++) {
      const row = Math.floor(i / C);
      if (all[i]! > 0 && row !== ignoreRow) bad.set(row, (bad.get(row) ?? 0) + all[i]!);
    }
    if (bad.size === 0) continue;
    const list = [...bad].slice(0, 5).map(([v, k]) => `${v} (${k} pixels)`).join(', ');
    return new RangeError(`${where}: image ${n} of the batch has target values that are not classes in [0, ${C}): ${list}; ${ign} (set ignoreIndex, or check numClasses)`);
  }
  return new RangeError(`${where}: counting failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}
