// BalancedPositiveNegativeSampler as torchvision.models.detection._utils (0.14): per image, at most
// batchSizePerImage·positiveFraction positives (labels >= 1) drawn at random, negatives (label 0)
// filling the rest; -1 is ignored. The draws are torch.randperm of the positives then of the
// negatives, image after image, as torchvision's, so the same seed picks the same elements.
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';

export class BalancedPositiveNegativeSampler {
  declare readonly batchSizePerImage: number;
  declare readonly positiveFraction: number;

  constructor(batchSizePerImage: number, positiveFraction: number) {
    if (!Number.isInteger(batchSizePerImage) || batchSizePerImage < 1) {
      throw new Error(`BalancedPositiveNegativeSampler: batchSizePerImage must be a positive integer, got ${batchSizePerImage}`);
    }
    if (!(positiveFraction >= 0 && positiveFraction <= 1)) {
      throw new Error(`BalancedPositiveNegativeSampler: positiveFraction must be in [0, 1], got ${positiveFraction}`);
    }
    this.batchSizePerImage = batchSizePerImage;
    this.positiveFraction = positiveFraction;
  }

  /**
   * `matchedIdxs`: per image, labels (any dtype): >= 1 positive, 0 negative, -1 ignored. Returns
   * per image uint8 masks of the same shape, 1 where an element was sampled as positive / negative.
   */
  sample(matchedIdxs: Tensor[]): { positive: Tensor[]; negative: Tensor[] } {
    return tidy(() => {
      const positive: Tensor[] = [];
      const negative: Tensor[] = [];
      for (const labels of matchedIdxs) {
        const pos = op('nonzero', labels.ge(1)).select(1, 0);
        const neg = op('nonzero', labels.eq(0)).select(1, 0);
        const numPos = Math.min(pos.numel, Math.trunc(this.batchSizePerImage * this.positiveFraction));
        const numNeg = Math.min(neg.numel, this.batchSizePerImage - numPos);
        const perm1 = op('randperm', pos.numel, 'int64', undefined, pos.device).slice(0, 0, numPos);
        const perm2 = op('randperm', neg.numel, 'int64', undefined, neg.device).slice(0, 0, numNeg);
        positive.push(mask(labels, pos.indexSelect(0, perm1)));
        negative.push(mask(labels, neg.indexSelect(0, perm2)));
      }
      return { positive, negative };
    });
  }
}

// a uint8 mask shaped as `like` (1-d), 1 at `idx`
function mask(like: Tensor, idx: Tensor): Tensor {
  return op('index_fill.int_Scalar', op('zeros_like', like, 'uint8'), 0, idx, 1);
}
