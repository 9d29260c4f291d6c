// Boundary loss (Kervadec et al., "Boundary loss for highly unbalanced segmentation", MIDL 2019):
//   L = mean over images, classes and valid pixels of  p_c(x) · φ_c(x)
// with p the softmax (or, binary, the sigmoid foreground) probabilities and φ_c the signed distance
// map of the target's class-c region (distance.ts: exact Euclidean distance transform in TS, in
// pixels; negative inside the region, 0 on its border pixels, positive outside). φ comes from the
// labels only (computed on the CPU, no gradient). Ignored pixels count as outside every region
// for φ and are left out of the mean. The loss is negative when the prediction sits inside the
// regions; Kervadec et al. add it to a region loss (Dice) with a weight that grows in training.
import { tensor } from '../torch/create.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { upcast, NO_IGNORE, checkBinary, checkBinaryValues, checkMulticlass, meanOver, validMask } from './common.js';
import { signedDistance } from './distance.js';

export interface BoundaryLossOptions {
  ignoreIndex?: number;
}

/** Signed distance maps (N, C, H, W) of the label regions 0..C-1 of labels (N, H, W). */
export function signedDistanceMaps(labels: Tensor, numClasses: number): Float32Array {
  const [n, h, w] = labels.shape;
  const ids = labels.to({ device: 'cpu', dtype: 'int32' });
  const data = ids.data() as Int32Array;
  ids.dispose();
  const out = new Float32Array(n * numClasses * h * w);
  const region = new Uint8Array(h * w);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < numClasses; c++) {
      for (let j = 0; j < h * w; j++) region[j] = data[i * h * w + j] === c ? 1 : 0;
      out.set(signedDistance(region, h, w), (i * numClasses + c) * h * w);
    }
  }
  return out;
}

function boundary(probs: Tensor, labels: Tensor, valid: Tensor, numClasses: number): Tensor {
  const [n, , h, w] = probs.shape;
  const phi = tensor(signedDistanceMaps(labels, numClasses), { shape: [n, numClasses, h, w], dtype: probs.dtype, device: probs.device });
  // meanOver divides by the valid pixels; the classes are averaged too.
  return meanOver(probs.mul(phi).sum(1), valid).div(numClasses);
}

/** Boundary loss of softmax(logits) (N, C, H, W) against int64 class ids (N, H, W); a scalar. */
export function boundaryLoss(logits: Tensor, target: Tensor, opts: BoundaryLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE } = opts;
  return tidy(() => {
    logits = upcast(logits);
    const c = checkMulticlass('boundaryLoss', logits, target);
    return boundary(logits.softmax(1), target, validMask(target, ignoreIndex), c);
  });
}

/** Boundary loss of sigmoid(logits) (N, 1, H, W) against 0/1 targets, foreground region only; a scalar. */
export function binaryBoundaryLoss(logits: Tensor, target: Tensor, opts: BoundaryLossOptions = {}): Tensor {
  const { ignoreIndex = NO_IGNORE } = opts;
  return tidy(() => {
    logits = upcast(logits);
    const t = checkBinary('binaryBoundaryLoss', logits, target);
    checkBinaryValues('binaryBoundaryLoss', t, ignoreIndex);
    // Region "class 1" of the labels; ignored pixels (any other value) are outside it.
    const fgAsClass0 = t.squeeze(1).eq(1).logicalNot().long(); // foreground → 0, else 1
    return boundary(logits.sigmoid(), fgAsClass0, validMask(t.squeeze(1), ignoreIndex), 1);
  });
}
