// The Region Proposal Network's proposals as torchvision.models.detection.rpn.RegionProposalNetwork
// (0.14) makes them: the head's deltas decoded onto the anchors (BoxCoder weights 1, 1, 1, 1), then
// per image: the pre_nms_top_n highest-objectness anchors of each level, clipped to the image's own
// size, boxes under min_size (1e-3) and probabilities under score_thresh dropped, NMS within each
// level, the post_nms_top_n best kept. Training losses (anchor matching, sampling) are not here yet.
import { cat, full, op, tidy, type Tensor } from '../../torch/index.js';
import { Module } from '../../nn/index.js';
import { BoxCoder } from '../../detection/box-coder.js';
import { batchedNms } from '../../detection/nms.js';
import { clipBoxesToImage, removeSmallBoxes } from '../../detection/boxes.js';
import type { Features } from '../backbones/features.js';
import type { AnchorGenerator } from './anchors.js';
import { RPNHead, concatBoxPredictionLayers } from './rpn-head.js';

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
}

/** Proposals per image, best first: boxes (Kᵢ, 4) x1, y1, x2, y2 and objectness probabilities (Kᵢ). */
export interface Proposals {
  boxes: Tensor[];
  scores: Tensor[];
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

  constructor(anchorGenerator: AnchorGenerator, head: RPNHead, opts: RegionProposalNetworkOptions = {}) {
    super();
    this.anchorGenerator = anchorGenerator;
    this.head = head;
    this.preNmsTopN = opts.preNmsTopN ?? { training: 2000, testing: 1000 };
    this.postNmsTopN = opts.postNmsTopN ?? { training: 2000, testing: 1000 };
    this.nmsThresh = opts.nmsThresh ?? 0.7;
    this.scoreThresh = opts.scoreThresh ?? 0.0;
  }

  /**
   * `images`: the padded batch (N, C, H, W); `imageSizes`: [height, width] of each image inside
   * it (proposals are clipped to these); `features`: the levels, finest first (e.g. the FPN's).
   */
  override forward(images: Tensor, imageSizes: [number, number][], features: Features): Proposals {
    const levels = Object.values(features);
    if (imageSizes.length !== images.size(0)) {
      throw new Error(`RegionProposalNetwork: ${imageSizes.length} image sizes for a batch of ${images.size(0)} images; give [height, width] of each`);
    }
    return tidy(() => {
      const { logits, deltas } = this.head.forward(levels);
      const anchors = this.anchorGenerator.forward(images, levels);
      const perLevel = logits.map((l) => l.size(1) * l.size(2) * l.size(3));
      const flat = concatBoxPredictionLayers(logits, deltas);
      // proposals are not differentiated through (torchvision detaches the deltas and objectness)
      const proposals = this.boxCoder.decode(flat.deltas.detach(), anchors).view(images.size(0), -1, 4);
      return this.filterProposals(proposals, flat.objectness.detach(), imageSizes, perLevel);
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
