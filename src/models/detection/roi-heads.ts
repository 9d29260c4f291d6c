// Mask R-CNN's second stage as torchvision.models.detection.roi_heads.RoIHeads (0.14): features of
// each proposal pooled to 7x7 (box_roi_pool), the box head and predictor give class logits and
// per-class box deltas. In eval mode, postprocess_detections decodes the deltas onto the proposals
// (BoxCoder weights 10, 10, 5, 5), clips them to the image, drops the background class, then keeps
// every (box, class) pair with a softmax score above score_thresh and at least 1e-2 wide and high,
// NMS per class, the detections_per_img best; the mask branch pools the detections to 14x14
// (mask_roi_pool), runs the mask head and predictor and keeps each detection's sigmoid mask of its
// own class (maskrcnn_inference), 28x28 in the box. In train mode, the proposals sampled against
// the targets (roi-sampling.ts) go through the box branch, the positive ones through the mask
// branch, giving torchvision's loss_classifier, loss_box_reg and loss_mask (roi-losses.ts).
// State-dict keys are torchvision's (box_head.*, box_predictor.*, mask_head.*, mask_predictor.*;
// the pools have none).
import { F, arange, cat, op, tidy, type Tensor } from '../../torch/index.js';
import { Module } from '../../nn/index.js';
import { BoxCoder } from '../../detection/box-coder.js';
import { Matcher } from '../../detection/matcher.js';
import { BalancedPositiveNegativeSampler } from '../../detection/sampler.js';
import { batchedNms } from '../../detection/nms.js';
import { clipBoxesToImage, removeSmallBoxes } from '../../detection/boxes.js';
import type { MultiScaleRoIAlign } from '../../detection/multi-scale-roi-align.js';
import type { Features } from '../backbones/features.js';
import type { Detection, DetectionLosses, DetectionTarget } from './types.js';
import { fastrcnnLoss, maskrcnnLoss } from './roi-losses.js';
import { selectTrainingSamples } from './roi-sampling.js';

export interface RoIHeadsOptions {
  /** Training: a proposal with IoU ≥ this to a ground-truth box is a positive; default 0.5. */
  fgIouThresh?: number;
  /** Training: below this it is background (between the two: ignored); default 0.5. */
  bgIouThresh?: number;
  /** Training: proposals sampled per image; default 512. */
  batchSizePerImage?: number;
  /** Training: at most this fraction of the sample is positive; default 0.25. */
  positiveFraction?: number;
  /** BoxCoder weights of the box deltas; default [10, 10, 5, 5]. */
  bboxRegWeights?: [number, number, number, number];
  /** Eval: detections with a class probability at or below this are dropped; default 0.05. */
  scoreThresh?: number;
  /** Eval: IoU above which NMS drops a detection of the same class; default 0.5. */
  nmsThresh?: number;
  /** Eval: detections kept per image, best first; default 100. */
  detectionsPerImg?: number;
}

/** The modules of the two branches; the mask branch is all three of its parts or none. */
export interface RoIHeadsParts {
  /** Mask R-CNN: MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2). */
  boxRoiPool: MultiScaleRoIAlign;
  /** (K, C, 7, 7) → (K, R): TwoMLPHead (v1) or FastRCNNConvFCHead (v2). */
  boxHead: Module;
  /** (K, R) → [class logits (K, numClasses), box deltas (K, 4·numClasses)]: FastRCNNPredictor. */
  boxPredictor: Module;
  /** Mask R-CNN: MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2). */
  maskRoiPool?: MultiScaleRoIAlign;
  /** (K, C, 14, 14) → (K, C', 14, 14): MaskRCNNHeads. */
  maskHead?: Module;
  /** (K, C', 14, 14) → mask logits (K, numClasses, 28, 28): MaskRCNNPredictor. */
  maskPredictor?: Module;
}

export class RoIHeads extends Module {
  declare box_roi_pool: MultiScaleRoIAlign;
  declare box_head: Module;
  declare box_predictor: Module;
  declare mask_roi_pool: MultiScaleRoIAlign | undefined;
  declare mask_head: Module | undefined;
  declare mask_predictor: Module | undefined;
  readonly boxCoder: BoxCoder;
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;

  constructor(parts: RoIHeadsParts, opts: RoIHeadsOptions = {}) {
    super();
    this.box_roi_pool = parts.boxRoiPool;
    this.box_head = parts.boxHead;
    this.box_predictor = parts.boxPredictor;
    const mask = [parts.maskRoiPool, parts.maskHead, parts.maskPredictor];
    if (mask.some((m) => m !== undefined) && !mask.every((m) => m !== undefined)) {
      throw new Error('RoIHeads: the mask branch needs maskRoiPool, maskHead and maskPredictor together; give all three, or none for boxes only');
    }
    if (parts.maskRoiPool && parts.maskHead && parts.maskPredictor) {
      this.mask_roi_pool = parts.maskRoiPool;
      this.mask_head = parts.maskHead;
      this.mask_predictor = parts.maskPredictor;
    }
    this.proposalMatcher = new Matcher(opts.fgIouThresh ?? 0.5, opts.bgIouThresh ?? 0.5, false);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(opts.batchSizePerImage ?? 512, opts.positiveFraction ?? 0.25);
    this.boxCoder = new BoxCoder(opts.bboxRegWeights ?? [10, 10, 5, 5]);
    this.scoreThresh = opts.scoreThresh ?? 0.05;
    this.nmsThresh = opts.nmsThresh ?? 0.5;
    this.detectionsPerImg = opts.detectionsPerImg ?? 100;
  }

  get hasMask(): boolean {
    return this.mask_roi_pool !== undefined;
  }

  /**
   * `features`: the FPN levels by name; `proposals`: (Lᵢ, 4) boxes per image (the RPN's);
   * `imageSizes`: [height, width] of each image in the padded batch. Eval mode: the detections
   * of each image, no losses. Train mode (`targets` needed): the losses, no detections.
   */
  override forward(features: Features, proposals: Tensor[], imageSizes: [number, number][], targets?: DetectionTarget[]): { detections: Detection[]; losses: DetectionLosses } {
    if (proposals.length !== imageSizes.length) {
      throw new Error(`RoIHeads: ${proposals.length} proposal lists for ${imageSizes.length} image sizes; give one (L, 4) tensor and one [height, width] per image`);
    }
    if (targets !== undefined) this.checkTargets(targets, proposals.length);
    if (this.training) {
      if (targets === undefined) throw new Error('RoIHeads: train mode needs targets (boxes, labels and, with a mask branch, masks per image); call eval() to detect');
      return { detections: [], losses: this.trainingLosses(features, proposals, imageSizes, targets) };
    }
    return tidy(() => {
      const boxFeatures = this.box_roi_pool.forward(features, proposals, imageSizes);
      const [classLogits, boxRegression] = this.box_predictor.forward(this.box_head.forward(boxFeatures)) as [Tensor, Tensor];
      const detections = this.postprocessDetections(classLogits, boxRegression, proposals, imageSizes);
      if (this.hasMask) {
        const maskLogits = this.maskLogits(features, detections.map((d) => d.boxes), imageSizes);
        maskrcnnInference(maskLogits, detections.map((d) => d.labels)).forEach((m, i) => (detections[i].masks = m));
      }
      return { detections, losses: {} };
    });
  }

  private trainingLosses(features: Features, proposals: Tensor[], imageSizes: [number, number][], targets: DetectionTarget[]): DetectionLosses {
    return tidy(() => {
      const samples = selectTrainingSamples(proposals, targets, this.proposalMatcher, this.fgBgSampler, this.boxCoder);
      const boxFeatures = this.box_roi_pool.forward(features, samples.proposals, imageSizes);
      const [classLogits, boxRegression] = this.box_predictor.forward(this.box_head.forward(boxFeatures)) as [Tensor, Tensor];
      const { lossClassifier, lossBoxReg } = fastrcnnLoss(classLogits, boxRegression, samples.labels, samples.regressionTargets);
      const losses: DetectionLosses = { loss_classifier: lossClassifier, loss_box_reg: lossBoxReg };
      if (this.hasMask) {
        // the mask branch learns from the positive proposals only
        const positive = samples.labels.map((l) => op('nonzero', l.gt(0)).reshape(-1));
        const maskProposals = samples.proposals.map((p, i) => p.indexSelect(0, positive[i]));
        const matched = samples.matchedIdxs.map((m, i) => m.indexSelect(0, positive[i]));
        const maskLogits = this.maskLogits(features, maskProposals, imageSizes);
        losses.loss_mask = maskrcnnLoss(maskLogits, maskProposals, targets.map((t) => t.masks!), targets.map((t) => t.labels), matched);
      }
      return losses;
    });
  }

  // torchvision's checks of the targets' keys and dtypes, with what to change
  private checkTargets(targets: DetectionTarget[], images: number): void {
    if (targets.length !== images) throw new Error(`RoIHeads: ${targets.length} targets for ${images} images; give one per image (an image without objects has boxes (0, 4))`);
    targets.forEach((t, i) => {
      if (!['float32', 'float64', 'float16'].includes(t.boxes.dtype)) throw new Error(`RoIHeads: targets[${i}].boxes must be float, got ${t.boxes.dtype}; convert with .float()`);
      if (t.labels.dtype !== 'int64') throw new Error(`RoIHeads: targets[${i}].labels must be int64, got ${t.labels.dtype}; convert with .long()`);
      if (this.hasMask && this.training && t.masks === undefined) throw new Error(`RoIHeads: targets[${i}] has no masks; the mask branch trains on (G, H, W) 0/1 instance masks`);
    });
  }

  /** The mask branch on `boxes` (per image): mask logits (ΣKᵢ, numClasses, 28, 28). */
  maskLogits(features: Features, boxes: Tensor[], imageSizes: [number, number][]): Tensor {
    return tidy(() => {
      const pooled = this.mask_roi_pool!.forward(features, boxes, imageSizes);
      return this.mask_predictor!.forward(this.mask_head!.forward(pooled)) as Tensor;
    });
  }

  /**
   * torchvision's postprocess_detections: class logits (ΣLᵢ, C) and box deltas (ΣLᵢ, 4C) of the
   * proposals → per image, boxes, scores and labels, best first.
   */
  postprocessDetections(classLogits: Tensor, boxRegression: Tensor, proposals: Tensor[], imageSizes: [number, number][]): Detection[] {
    return tidy(() => {
      const numClasses = classLogits.size(-1);
      const counts = proposals.map((p) => p.size(0));
      const predBoxes = this.boxCoder.decode(boxRegression, proposals).reshape(-1, numClasses, 4);
      const predScores = F.softmax(classLogits, -1);
      const scoresPerImage = predScores.split(counts, 0);
      return predBoxes.split(counts, 0).map((imageBoxes, i) => {
        // every (proposal, class) pair but the background's is a candidate
        let boxes = clipBoxesToImage(imageBoxes, imageSizes[i]).slice(1, 1).reshape(-1, 4);
        let scores = scoresPerImage[i].slice(1, 1).reshape(-1);
        let labels = arange(0, numClasses, 1, { dtype: 'int64', device: classLogits.device }).view(1, -1).expandAs(scoresPerImage[i]).slice(1, 1).reshape(-1);
        const pick = (idx: Tensor): void => {
          [boxes, scores, labels] = [boxes.indexSelect(0, idx), scores.indexSelect(0, idx), labels.indexSelect(0, idx)];
        };
        pick(op('nonzero', scores.gt(this.scoreThresh)).reshape(-1));
        pick(removeSmallBoxes(boxes, 1e-2));
        pick(batchedNms(boxes, scores, labels, this.nmsThresh).slice(0, 0, this.detectionsPerImg));
        return { boxes, scores, labels };
      });
    });
  }
}

/**
 * torchvision's maskrcnn_inference: mask logits (ΣKᵢ, C, M, M) and each image's detection labels
 * → per image, the sigmoid of each detection's own class map, (Kᵢ, 1, M, M).
 */
export function maskrcnnInference(maskLogits: Tensor, labels: Tensor[]): Tensor[] {
  return tidy(() => {
    const all = cat(labels, 0);
    const rows = arange(0, all.size(0), 1, { dtype: 'int64', device: all.device });
    const probs = op('index.Tensor', maskLogits.sigmoid(), [rows, all]).unsqueeze(1);
    return probs.split(labels.map((l) => l.size(0)), 0);
  });
}
