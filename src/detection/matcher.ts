// Matcher as torchvision.models.detection._utils.Matcher (0.14): each prediction (anchor, proposal)
// gets the ground-truth element it overlaps most, or -1 (BELOW_LOW_THRESHOLD: a negative) or -2
// (BETWEEN_THRESHOLDS: ignored). With allowLowQualityMatches, a prediction that is the best one for
// some ground truth (ties included) keeps its best ground truth even below the thresholds, so every
// ground-truth box gets at least one match.
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';

export class Matcher {
  static readonly BELOW_LOW_THRESHOLD = -1;
  static readonly BETWEEN_THRESHOLDS = -2;
  readonly BELOW_LOW_THRESHOLD = Matcher.BELOW_LOW_THRESHOLD;
  readonly BETWEEN_THRESHOLDS = Matcher.BETWEEN_THRESHOLDS;
  declare readonly highThreshold: number;
  declare readonly lowThreshold: number;
  declare readonly allowLowQualityMatches: boolean;

  /** Qualities >= highThreshold match; [lowThreshold, highThreshold) are -2; below lowThreshold -1. */
  constructor(highThreshold: number, lowThreshold: number, allowLowQualityMatches = false) {
    if (!(lowThreshold <= highThreshold)) {
      throw new Error(`Matcher: lowThreshold (${lowThreshold}) must be <= highThreshold (${highThreshold})`);
    }
    this.highThreshold = highThreshold;
    this.lowThreshold = lowThreshold;
    this.allowLowQualityMatches = allowLowQualityMatches;
  }

  /**
   * `matchQualityMatrix` (G, P): the quality (e.g. IoU) of each (ground truth, prediction) pair.
   * Returns (P) int64: the matched ground-truth index, -1 or -2.
   */
  match(matchQualityMatrix: Tensor): Tensor {
    if (matchQualityMatrix.ndim !== 2) {
      throw new Error(`Matcher.match: the match quality matrix must be (ground truth, predictions), got shape [${matchQualityMatrix.shape}]`);
    }
    if (matchQualityMatrix.numel === 0) {
      // torchvision raises here too; its RPN and RoI heads treat such images as all background before matching
      throw new Error(matchQualityMatrix.size(0) === 0
        ? 'Matcher.match: no ground-truth boxes for one of the images; an image without objects has nothing to match: label all its predictions background instead (the RPN and RoI heads do)'
        : 'Matcher.match: no predicted boxes (anchors or proposals) for one of the images; there is nothing to match');
    }
    return tidy(() => {
      const [vals, all] = matchQualityMatrix.maxDim(0);
      const below = vals.lt(this.lowThreshold);
      const between = vals.ge(this.lowThreshold).logicalAnd(vals.lt(this.highThreshold));
      let matches = all.maskedFill(below, Matcher.BELOW_LOW_THRESHOLD).maskedFill(between, Matcher.BETWEEN_THRESHOLDS);
      if (this.allowLowQualityMatches) {
        // every prediction that is some ground truth's best (ties included) gets its own best match back
        const best = matchQualityMatrix.maxDim(1)[0];
        const isBest = op('any.dim', matchQualityMatrix.eq(best.unsqueeze(1)), 0, false);
        matches = all.where(isBest, matches);
      }
      return matches;
    });
  }
}
