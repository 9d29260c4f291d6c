// The libtorch side of the confusion matrix: one batch of predictions and targets in, each
// image's C x C counts out (rows truth, columns prediction), as float64 in JS.
//
// Each pixel becomes one bin index, pred + C * target, and `bincount` counts them (int64). With
// an ignore index at or above C (255 in most datasets) no mask is built at all: the ignored pixels
// fall in the bins of "row 255", past the C x C block, and are counted there. Any other bin past
// the block means a target value that is neither a class nor the ignore index: an error that
// names the value. A small or negative ignore index takes the masked path instead.
import { noGrad, op, stack, tidy, isFloating, type Tensor } from '../torch/index.js';

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

// Above this many bins per image the ignore index is masked rather than binned (its "row"
// would make bincount allocate and zero (ignore + 1) * C counters per image).
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

  const rows = idx.reshape([N, perImage]);
  const blocks: Tensor[] = [];
  const over: { image: number; bins: Tensor }[] = [];
  for (let n = 0; n < N; n++) {
    let bins: Tensor;
    try {
      bins = rows.select(0, n).bincount(undefined, CC);
    } catch (e) {
      throw new RangeError(`${where}: image ${n} of the batch has negative target values (other than the ignore index ${ignore}); targets must be classes in [0, ${C}) or the ignore index`, { cause: e });
    }
    const nb = bins.shape[0]!;
    blocks.push(nb === CC ? bins : bins.narrow(0, 0, CC));
    if (nb > CC) over.push({ image: n, bins });
  }
  const counts = stack(blocks).double().data() as Float64Array;

  // pixels past the C x C block: the ignore row, or target values that are not classes
  for (const { image, bins } of over) {
    const nb = bins.shape[0]!;
    const start = ignoreRow * C;
    const ignored = ignoreRow >= 0 && start < nb ? bins.narrow(0, start, Math.min(C, nb - start)).sum().item() : 0;
    let counted = 0;
    for (let i = image * CC; i < (image + 1) * CC; i++) counted += counts[i]!;
    if (counted + ignored !== perImage) throw badTarget(bins, image, C, ignoreRow, ignore);
  }
  return { images: N, counts };
}

function badTarget(bins: Tensor, image: number, C: number, ignoreRow: number, ignore: number | null): RangeError {
  const all = bins.double().data() as Float64Array;
  const bad = new Map<number, number>();
  for (let i = C * C; i < all.length; i++) {
    const row = Math.floor(i / C);
    if (all[i]! > 0 && row !== ignoreRow) bad.set(row, (bad.get(row) ?? 0) + all[i]!);
  }
  const list = [...bad].slice(0, 5).map(([v, n]) => `${v} (${n} pixels)`).join(', ');
  const ign = ignore === null ? 'no ignore index is set' : `the ignore index is ${ignore}`;
  return new RangeError(`${where}: image ${image} of the batch has target values that are not classes in [0, ${C}): ${list}; ${ign} (set ignoreIndex, or check numClasses)`);
}
