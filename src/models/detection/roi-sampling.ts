// Which proposals the RoI heads train on, as torchvision.models.detection.roi_heads.RoIHeads
// (0.14) picks them (select_training_samples): per image, the ground-truth boxes are appended to
// the proposals; each proposal is matched to the ground truth it overlaps most (Matcher 0.5 / 0.5
// in Mask R-CNN, without low-quality matches) and labelled with its class, 0 below the low
// threshold (background), -1 between the thresholds (ignored); an image without objects is all
// background. The sampler then draws positives and negatives (torch.randperm, so a seed gives
// torchvision's draw), and each sampled proposal gets the box deltas to its matched ground truth.
import { cat, op, tidy, zeros, type Tensor } from '../../torch/index.js';
import { boxIou } from '../../detection/boxes.js';
import type { BoxCoder } from '../../detection/box-coder.js';
import { Matcher } from '../../detection/matcher.js';
import type { BalancedPositiveNegativeSampler } from '../../detection/sampler.js';
import type { DetectionTarget } from './types.js';

/** The sampled proposals of each image with what they are trained towards. */
export interface TrainingSamples {
  /** (Sᵢ, 4) sampled proposals (ground-truth boxes among them). */
  proposals: Tensor[];
  /** (Sᵢ) int64 index of the matched ground-truth box (0 for background proposals). */
  matchedIdxs: Tensor[];
  /** (Sᵢ) int64 class of each sampled proposal, 0 for background. */
  labels: Tensor[];
  /** (Sᵢ, 4) box deltas from each proposal to its matched ground truth. */
  regressionTargets: Tensor[];
}

/** torchvision's assign_targets_to_proposals: per image, matched ground truth (clamped to ≥ 0) and labels (0 background, -1 ignored). */
export function assignTargetsToProposals(matcher: Matcher, proposals: Tensor[], gtBoxes: Tensor[], gtLabels: Tensor[]): { matchedIdxs: Tensor[]; labels: Tensor[] } {
  return tidy(() => {
    const matchedIdxs: Tensor[] = [];
    const labels: Tensor[] = [];
    proposals.forEach((p, i) => {
      if (gtBoxes[i].numel === 0) {
        // an image without objects: every proposal is background
        matchedIdxs.push(zeros([p.size(0)], { dtype: 'int64', device: p.device }));
        labels.push(zeros([p.size(0)], { dtype: 'int64', device: p.device }));
        return;
      }
      const matched = matcher.match(boxIou(gtBoxes[i], p));
      const clamped = matched.clamp(0);
      const l = gtLabels[i].indexSelect(0, clamped).to('int64')
        .maskedFill(matched.eq(Matcher.BELOW_LOW_THRESHOLD), 0)
        .maskedFill(matched.eq(Matcher.BETWEEN_THRESHOLDS), -1);
      matchedIdxs.push(clamped);
      labels.push(l);
    });
    return { matchedIdxs, labels };
  });
}

/** torchvision's select_training_samples (the targets already checked). */
export function selectTrainingSamples(
  proposals: Tensor[], targets: DetectionTarget[], matcher: Matcher, sampler: BalancedPositiveNegativeSampler, boxCoder: BoxCoder,
): TrainingSamples {
  return tidy(() => {
    const dtype = proposals[0].dtype;
    const gtBoxes = targets.map((t) => t.boxes.to(dtype));
    const withGt = proposals.map((p, i) => cat([p, gtBoxes[i]], 0));
    const assigned = assignTargetsToProposals(matcher, withGt, gtBoxes, targets.map((t) => t.labels));
    const { positive, negative } = sampler.sample(assigned.labels);
    const out: TrainingSamples = { proposals: [], matchedIdxs: [], labels: [], regressionTargets: [] };
    const matchedGtBoxes: Tensor[] = [];
    withGt.forEach((p, i) => {
      const sampled = op('nonzero', op('logical_or', positive[i], negative[i])).reshape(-1);
      out.proposals.push(p.indexSelect(0, sampled));
      out.labels.push(assigned.labels[i].indexSelect(0, sampled));
      const matched = assigned.matchedIdxs[i].indexSelect(0, sampled);
      out.matchedIdxs.push(matched);
      // an image without objects regresses towards a (0, 0, 0, 0) box, as torchvision (its box loss ignores background)
      const gt = gtBoxes[i].numel === 0 ? zeros([1, 4], { dtype, device: p.device }) : gtBoxes[i];
      matchedGtBoxes.push(gt.indexSelect(0, matched));
    });
    out.regressionTargets = boxCoder.encode(matchedGtBoxes, out.proposals);
    return out;
  });
}
