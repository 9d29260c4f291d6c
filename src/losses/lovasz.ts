// Lovász-Softmax and Lovász hinge (Berman, Rannen Triki, Blaschko, CVPR 2018): the Lovász
// extension of the Jaccard loss, as in the authors' reference code.
//   per class c: errors e_i = |fg_i - p_i,c| sorted descending (permutation π),
//   loss_c = Σ_i e_π(i) · g_i,  g = the steps of J(k) = 1 - |fg \ top_k| / |fg ∪ top_k| along the sort
// Lovász-Softmax averages loss_c over the classes present in the labels (or all); the hinge (one
// sigmoid channel) uses errors 1 - x·(2y - 1) and relu(e) in the sum. Ignored pixels are removed
// before sorting. perImage computes the loss per image and averages; unlike the reference, an
// image whose pixels are all ignored is left out of that mean (the reference's softmax returns an
// empty tensor for it and its hinge counts it as 0). No valid pixel at all gives 0.
import { callOp } from '../torch/dispatch.js';
import { cat, stack } from '../torch/create.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { upcast, NO_IGNORE, checkBinary, checkBinaryValues, checkMulticlass, graphZero, validMask } from './common.js';
import type { ClassSelection } from './overlap.js';

export interface LovaszLossOptions {
  ignoreIndex?: number;
  /** Loss per image, then the mean over images (default false: over the whole batch). */
  perImage?: boolean;
}

/** Gradient of the Lovász extension of the Jaccard loss for each column of sorted 0/1 labels (P, K). */
function lovaszGrad(fgSorted: Tensor): Tensor {
  const gts = fgSorted.sum(0); // (K)
  const intersection = gts.sub(callOp('cumsum', fgSorted, 0) as Tensor); // |fg| - |fg ∩ top_k|
  const union = gts.add(callOp('cumsum', fgSorted.neg().add(1), 0) as Tensor); // |fg ∪ top_k|
  const jaccard = intersection.div(union).neg().add(1); // (P, K)
  const p = jaccard.shape[0];
  if (p === 1) return jaccard;
  return cat([jaccard.slice(0, 0, 1), jaccard.slice(0, 1).sub(jaccard.slice(0, 0, p - 1))], 0);
}

/** Per-class Lovász-Softmax losses (C) of valid pixels' probabilities (V, C) and labels (V). */
function softmaxFlat(probs: Tensor, labels: Tensor, classes: ClassSelection): Tensor {
  const c = probs.shape[1];
  const fg = labels.oneHot(c).to(probs.dtype); // (V, C)
  const [sorted, perm] = callOp('sort', fg.sub(probs).abs(), 0, true) as [Tensor, Tensor];
  const perClass = sorted.mul(lovaszGrad(fg.gather(0, perm))).sum(0); // (C)
  if (classes === 'all') return perClass.mean();
  const present = fg.sum(0).gt(0); // at least one class is, since V > 0
  return perClass.where(present, 0).sum().div(present.sum());
}

function hingeFlat(logits: Tensor, labels: Tensor): Tensor {
  const signs = labels.to(logits.dtype).mul(2).sub(1);
  const [sorted, perm] = callOp('sort', logits.mul(signs).neg().add(1), 0, true) as [Tensor, Tensor];
  const grad = lovaszGrad(labels.to(logits.dtype).gather(0, perm).unsqueeze(1)).squeeze(1);
  return callOp('dot', sorted.relu(), grad);
}

/** Mean over images (perImage) or the loss of the whole batch, over pixels whose label is valid. */
function reduce(values: Tensor, labels: Tensor, valid: Tensor, perImage: boolean, flat: (v: Tensor, l: Tensor) => Tensor): Tensor {
  // values (N, P, K), labels and valid (N, P)
  const k = values.shape[2];
  const pick = (v: Tensor, l: Tensor, m: Tensor): Tensor | undefined => {
    if (!m.any().item()) return undefined;
    // contiguous(): libtorch 1.13's masked_select backward scatters the gradient in the wrong
    // order when its input is a non-contiguous view (a per-image slice of the permuted probs).
    const kept = callOp('masked_select', v.contiguous(), m.unsqueeze(-1)).reshape(-1, k) as Tensor;
    return flat(kept, callOp('masked_select', l, m));
  };
  if (!perImage) return pick(values.reshape(-1, k), labels.flatten(), valid.flatten()) ?? graphZero(values);
  const losses: Tensor[] = [];
  for (let i = 0; i < values.shape[0]; i++) {
    const l = pick(values.select(0, i), labels.select(0, i), valid.select(0, i));
    if (l) losses.push(l);
  }
  return losses.length === 0 ? graphZero(values) : stack(losses).mean();
}

/** Lovász-Softmax of softmax(logits) (N, C, H, W) against int64 class ids (N, H, W); a scalar. */
export function lovaszSoftmaxLoss(logits: Tensor, target: Tensor, opts: LovaszLossOptions & { classes?: ClassSelection } = {}): Tensor {
  const { ignoreIndex = NO_IGNORE, perImage = false, classes = 'present' } = opts;
  return tidy(() => {
    logits = upcast(logits);
    const [n, c] = logits.shape;
    checkMulticlass('lovaszSoftmaxLoss', logits, target);
    const probs = logits.softmax(1).permute(0, 2, 3, 1).reshape(n, -1, c); // (N, HW, C)
    const labels = target.reshape(n, -1);
    return reduce(probs, labels, validMask(labels, ignoreIndex), perImage, (p, l) => softmaxFlat(p, l, classes));
  });
}

/** Lovász hinge of one-channel logits (N, 1, H, W) against 0/1 targets; a scalar. */
export function lovaszHingeLoss(logits: Tensor, target: Tensor, opts: LovaszLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE, perImage = false } = opts;
  return tidy(() => {
    logits = upcast(logits);
    const t = checkBinary('lovaszHingeLoss', logits, target);
    checkBinaryValues('lovaszHingeLoss', t, ignoreIndex);
    const n = logits.shape[0];
    const labels = t.reshape(n, -1);
    return reduce(logits.reshape(n, -1, 1), labels, validMask(labels, ignoreIndex), perImage, (x, l) => hingeFlat(x.squeeze(1), l));
  });
}
