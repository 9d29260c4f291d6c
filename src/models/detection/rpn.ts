// The Region Proposal Network's proposals as torchvision.models.detection.rpn.RegionProposalNetwork
// (0.14) makes them: the head's deltas decoded onto the anchors (BoxCoder weights 1, 1, 1, 1), then
// per image: the pre_nms_top_n highest-objectness anchors of each level, clipped to the image's own
// size, boxes under min_size (1e-3) and probabilities under score_thresh dropped, NMS within each
// level, the post_nms_top_n best kept. In training mode, with targets, also its losses: anchors
// matched to the ground truth by IoU (Matcher fg 0.7 / bg 0.3 with low-quality matches; an image
// without boxes is all background), 256 anchors per image sampled half positive at most, then
// binary cross-entropy of the objectness over the sampled anchors and smooth L1 (beta 1/9, summed)
// of the positives' deltas divided by the number sampled.
import { cat, F, full, op, tidy, zeros, type Tensor } from '../../torch/index.js';
import { Module } from '../../nn/index.js';
import { BoxCoder } from '../../detection/box-coder.js';
import { batchedNms } from '../../detection/nms.js';
import { boxIou, clipBoxesToImage, removeSmallBoxes } from '../../detection/boxes.js';
import { Matcher } from '../../detection/matcher.js';
import { BalancedPositiveNegativeSampler } from '../../detection/sampler.js';
import type { Features } from '../backbones/features.js';
import type { AnchorGenerator } from './anchors.js';
import { RPNHead, concatBoxPredictionLayers } from './rpn-head.js';
import type { DetectionLosses, DetectionTarget } from './types.js';

/** A count for training mode and one for eval mode, as torchvision's dicts. */
export interface TopN {
  training: number;
  testing: number;
}

export interface RegionProposalNetworkOptions {
  /** Anchors kept per level before NMS; Mask R-CNN: training 2000, testing 1000. */
  preNmsTopN?: TopN;
  /** Proposals kept per image after NMS; Mask R-CNN: training 2000, testing 1000. */
  postNmsTopN?: TopN;
  /** IoU above which NMS drops a box (within a level); default 0.7. */
  nmsThresh?: number;
  /** Proposals with an objectness probability below this are dropped; default 0.0. */
  scoreThresh?: number;
  /** Training: anchors with IoU >= this with a ground-truth box are positives; default 0.7. */
  fgIouThresh?: number;
  /** Training: anchors whose best IoU is below this are negatives (between the two: ignored); default 0.3. */
  bgIouThresh?: number;
  /** Training: anchors sampled per image for the losses; default 256. */
  batchSizePerImage?: number;
  /** Training: the largest share of positives among the sampled anchors; default 0.5. */
  positiveFraction?: number;
}

/** Proposals per image, best first: boxes (Kᵢ, 4) x1, y1, x2, y2 and objectness probabilities (Kᵢ). */
export interface Proposals {
  boxes: Tensor[];
  scores: Tensor[];
}

/** The RPN's loss terms, scalars with grad (torchvision's names). */
export interface RPNLosses {
  loss_objectness: Tensor;
  loss_rpn_box_reg: Tensor;
}

/**
 * forward's result: the proposals, and the losses: loss_objectness and loss_rpn_box_reg in
 * training mode, none in eval mode (torchvision's dict, ready to merge with the RoI heads').
 */
export interface RPNOutput extends Proposals {
  losses: DetectionLosses;
}

export class RegionProposalNetwork extends Module {
  declare head: RPNHead;
  // no parameters or buffers, so not a registered module (torchvision's has no state-dict keys either)
  readonly anchorGenerator: AnchorGenerator;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly preNmsTopN: TopN;
  readonly postNmsTopN: TopN;
  readonly nmsThresh: number;
  readonly scoreThresh: number;
  readonly minSize = 1e-3;
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;

  constructor(anchorGenerator: AnchorGenerator, head: RPNHead, opts: RegionProposalNetworkOptions = {}) {
    super();
    this.anchorGenerator = anchorGenerator;
    this.head = head;
    this.preNmsTopN = opts.preNmsTopN ?? { training: 2000, testing: 1000 };
    this.postNmsTopN = opts.postNmsTopN ?? { training: 2000, testing: 1000 };
    this.nmsThresh = opts.nmsThresh ?? 0.7;
    this.scoreThresh = opts.scoreThresh ?? 0.0;
    this.proposalMatcher = new Matcher(opts.fgIouThresh ?? 0.7, opts.bgIouThresh ?? 0.3, true);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(opts.batchSizePerImage ?? 256, opts.positiveFraction ?? 0.5);
  }

  /**
   * `images`: the padded batch (N, C, H, W); `imageSizes`: [height, width] of each image inside
   * it (proposals are clipped to these); `features`: the levels, finest first (e.g. the FPN's);
   * `targets`: each image's ground-truth boxes (only `boxes` is used), required in training mode,
   * where the losses are computed (the sampler draws from torch's generator: seed it for repeatable runs).
   */
  override forward(images: Tensor, imageSizes: [number, number][], features: Features, targets?: readonly Pick<DetectionTarget, 'boxes'>[]): RPNOutput {
    const levels = Object.values(features);
    const n = images.size(0);
    if (imageSizes.length !== n) {
      throw new Error(`RegionProposalNetwork: ${imageSizes.length} image sizes for a batch of ${n} images; give [height, width] of each`);
    }
    if (this.training) {
      if (targets === undefined) {
        throw new Error('RegionProposalNetwork: training mode needs targets (each image\'s ground-truth boxes) for the losses; pass them, or call eval() for proposals only');
      }
      if (targets.length !== n) {
        throw new Error(`RegionProposalNetwork: ${targets.length} targets for a batch of ${n} images; give one per image (boxes (0, 4) for an image without objects)`);
      }
    }
    return tidy(() => {
      const { logits, deltas } = this.head.forward(levels);
      const anchors = this.anchorGenerator.forward(images, levels);
      const perLevel = logits.map((l) => l.size(1) * l.size(2) * l.size(3));
      const flat = concatBoxPredictionLayers(logits, deltas);
      // proposals are not differentiated through (torchvision detaches the deltas and objectness)
      const proposals = this.boxCoder.decode(flat.deltas.detach(), anchors).view(n, -1, 4);
      const out: RPNOutput = { ...this.filterProposals(proposals, flat.objectness.detach(), imageSizes, perLevel), losses: {} };
      if (this.training && targets !== undefined) {
        const { labels, matchedGtBoxes } = this.assignTargetsToAnchors(anchors, targets);
        const regressionTargets = this.boxCoder.encode(matchedGtBoxes, anchors);
        out.losses = { ...this.computeLoss(flat.objectness, flat.deltas, labels, regressionTargets) };
      }
      return out;
    });
  }

  /**
   * torchvision's assign_targets_to_anchors: per image, labels (A) float32, 1 positive, 0
   * negative, -1 ignored, and the ground-truth box each anchor is regressed to (A, 4); an image
   * without boxes gets all anchors negative (and zero boxes, never used).
   */
  assignTargetsToAnchors(anchors: Tensor[], targets: readonly Pick<DetectionTarget, 'boxes'>[]): { labels: Tensor[]; matchedGtBoxes: Tensor[] } {
    return tidy(() => {
      const labels: Tensor[] = [];
      const matchedGtBoxes: Tensor[] = [];
      anchors.forEach((a, i) => {
        const gt = targets[i].boxes;
        if (gt.numel > 0 && (gt.ndim !== 2 || gt.size(1) !== 4)) {
          throw new Error(`RegionProposalNetwork: target ${i}'s boxes must have shape (G, 4) x1, y1, x2, y2; got [${gt.shape}]`);
        }
        if (gt.numel === 0) {
          labels.push(zeros([a.size(0)], { dtype: 'float32', device: a.device }));
          matchedGtBoxes.push(zeros(a.shape, { dtype: 'float32', device: a.device }));
          return;
        }
        const matched = this.proposalMatcher.match(boxIou(gt, a));
        // -2 (between thresholds) clamps to gt 0; those anchors are ignored anyway
        matchedGtBoxes.push(gt.indexSelect(0, matched.clamp(0)));
        labels.push(matched.ge(0).float().maskedFill(matched.eq(Matcher.BETWEEN_THRESHOLDS), -1));
      });
      return { labels, matchedGtBoxes };
    });
  }

  /**
   * torchvision's compute_loss: objectness (sum A, 1) logits and deltas (sum A, 4) of all images,
   * labels and regression targets per image → the two losses over the sampled anchors.
   */
  computeLoss(objectness: Tensor, deltas: Tensor, labels: Tensor[], regressionTargets: Tensor[]): RPNLosses {
    return tidy(() => {
      const { positive, negative } = this.fgBgSampler.sample(labels);
      const pos = op('nonzero', cat(positive, 0)).select(1, 0);
      const neg = op('nonzero', cat(negative, 0)).select(1, 0);
      const sampled = cat([pos, neg], 0);
      const boxLoss = op('smooth_l1_loss', deltas.indexSelect(0, pos), cat(regressionTargets, 0).indexSelect(0, pos), 2, 1 / 9).div(sampled.numel);
      const objectnessLoss = F.binaryCrossEntropyWithLogits(objectness.flatten().indexSelect(0, sampled), cat(labels, 0).indexSelect(0, sampled));
      return { loss_objectness: objectnessLoss, loss_rpn_box_reg: boxLoss };
    });
  }

  /** torchvision's filter_proposals: proposals (N, A, 4), objectness (N·A, 1), anchors per level. */
  filterProposals(proposals: Tensor, objectness: Tensor, imageSizes: [number, number][], perLevel: number[]): Proposals {
    const n = proposals.size(0);
    const preNms = this.training ? this.preNmsTopN.training : this.preNmsTopN.testing;
    const postNms = this.training ? this.postNmsTopN.training : this.postNmsTopN.testing;
    return tidy(() => {
      const scoresAll = objectness.reshape(n, -1);
      const levelOf = cat(perLevel.map((count, i) => full([count], i, { dtype: 'int64', device: proposals.device })), 0);
      // the top pre_nms_top_n anchors of each level (all of a smaller level), as indices into all anchors
      let offset = 0;
      const top = scoresAll.split(perLevel, 1).map((s) => {
        const k = Math.min(preNms, s.size(1));
        const idx = op('topk', s, k, 1, true, true)[1].add(offset);
        offset += s.size(1);
        return idx;
      });
      const topIdx = cat(top, 1);
      const boxes: Tensor[] = [];
      const scores: Tensor[] = [];
      for (let i = 0; i < n; i++) {
        const idx = topIdx.select(0, i);
        let b = clipBoxesToImage(proposals.select(0, i).indexSelect(0, idx), imageSizes[i]);
        let s = scoresAll.select(0, i).indexSelect(0, idx).sigmoid();
        let lvl = levelOf.indexSelect(0, idx);
        const big = removeSmallBoxes(b, this.minSize);
        [b, s, lvl] = [b.indexSelect(0, big), s.indexSelect(0, big), lvl.indexSelect(0, big)];
        // >= as torchvision (kept for backwards compatibility there)
        const confident = op('nonzero', s.ge(this.scoreThresh)).reshape(-1);
        [b, s, lvl] = [b.indexSelect(0, confident), s.indexSelect(0, confident), lvl.indexSelect(0, confident)];
        const keep = batchedNms(b, s, lvl, this.nmsThresh).slice(0, 0, postNms);
        boxes.push(b.indexSelect(0, keep));
        scores.push(s.indexSelect(0, keep));
      }
      return { boxes, scores };
    });
  }
}
