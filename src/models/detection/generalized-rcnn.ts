// The frame of a two-stage detector as torchvision.models.detection.generalized_rcnn.GeneralizedRCNN
// (0.14): transform (normalize, resize, batch) → backbone (feature levels) → rpn (proposals) →
// roi_heads (detections) → transform.postprocess (back to each image's own size). Training mode
// returns the losses of the RoI heads and the RPN (torchvision's names and order); eval mode the
// detections. Children and state-dict keys are torchvision's: transform (no state), backbone.*,
// rpn.head.*, roi_heads.*.
import { tidy, type Tensor } from '../../torch/index.js';
import { Module } from '../../nn/index.js';
import type { Features } from '../backbones/features.js';
import type { RegionProposalNetwork } from './rpn.js';
import type { RoIHeads } from './roi-heads.js';
import type { GeneralizedRCNNTransform } from './transform.js';
import type { Detection, DetectionLosses, DetectionTarget } from './types.js';

/** A backbone for an R-CNN: (N, 3, H, W) → named feature levels of `outChannels` channels each. */
export interface DetectionBackbone extends Module {
  readonly outChannels: number;
  forward(x: Tensor): Features;
}

export class GeneralizedRCNN extends Module {
  declare transform: GeneralizedRCNNTransform;
  declare backbone: DetectionBackbone;
  declare rpn: RegionProposalNetwork;
  declare roi_heads: RoIHeads;

  constructor(backbone: DetectionBackbone, rpn: RegionProposalNetwork, roiHeads: RoIHeads, transform: GeneralizedRCNNTransform) {
    super();
    this.transform = transform;
    this.backbone = backbone;
    this.rpn = rpn;
    this.roi_heads = roiHeads;
  }

  /**
   * `images`: (3, H, W) float tensors in 0..1, sizes may differ. Eval mode: one Detection per
   * image in its own pixels (masks pasted into it). Training mode: `targets` (boxes in the image's
   * pixels, labels, masks) are required and the losses come back, scalars with gradients.
   */
  override forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | DetectionLosses {
    if (this.training) checkTargets(images, targets);
    const originalSizes = images.map((im) => [im.size(-2), im.size(-1)] as [number, number]);
    return tidy(() => {
      const { images: batch, targets: resized } = this.transform.call(images, this.training ? targets : undefined);
      if (resized !== undefined) resized.forEach((t, i) => checkDegenerate(t.boxes, i));
      const features = this.backbone.call(batch.tensors);
      const proposals = this.rpn.call(batch.tensors, batch.imageSizes, features, resized);
      const { detections, losses } = this.roi_heads.call(features, proposals.boxes, batch.imageSizes, resized);
      if (this.training) return { ...losses, ...proposals.losses } as DetectionLosses;
      return this.transform.postprocess(detections, batch.imageSizes, originalSizes);
    });
  }

  /** Eval-mode forward, typed: the detections of each image. */
  detect(images: Tensor[]): Detection[] {
    if (this.training) throw new Error(`${this.constructor.name}.detect: the model is in training mode; call model.eval() first`);
    return this.forward(images) as Detection[];
  }

  /** Training-mode forward, typed: the named losses (sum them for the total). */
  losses(images: Tensor[], targets: DetectionTarget[]): DetectionLosses {
    if (!this.training) throw new Error(`${this.constructor.name}.losses: the model is in eval mode; call model.train() first`);
    return this.forward(images, targets) as DetectionLosses;
  }
}

function checkTargets(images: Tensor[], targets: DetectionTarget[] | undefined): void {
  if (targets === undefined) throw new Error('training mode needs targets (boxes, labels and masks of each image); pass them, or call model.eval() to detect');
  if (targets.length !== images.length) throw new Error(`${images.length} images but ${targets.length} targets; give one target per image (boxes (0, 4) for an image without objects)`);
  targets.forEach((t, i) => {
    if (t.boxes.ndim !== 2 || t.boxes.size(1) !== 4) throw new Error(`target ${i}: boxes must be (G, 4) x1, y1, x2, y2, got [${t.boxes.shape.join(', ')}]`);
  });
}

// torchvision asserts every box has a positive width and height (after the resize)
function checkDegenerate(boxes: Tensor, index: number): void {
  const flat = boxes.toArray();
  for (let j = 0; j < flat.length; j += 4) {
    if (flat[j + 2] <= flat[j] || flat[j + 3] <= flat[j + 1]) {
      throw new Error(`All bounding boxes should have positive height and width. Found invalid box [${flat.slice(j, j + 4).join(', ')}] for target at index ${index} (in the resized image's pixels); x2 must exceed x1 and y2 exceed y1`);
    }
  }
}
