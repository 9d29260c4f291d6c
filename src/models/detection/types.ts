// The shapes that pass between the parts of an R-CNN detector (torchvision's target and result
// dicts, with the same meaning): what a training image's objects are, and what the model finds.
import type { Tensor } from '../../torch/index.js';

/** One image's ground truth, in the coordinates of the image the model sees. */
export interface DetectionTarget {
  /** (G, 4) float32, x1, y1, x2, y2 in pixels; G may be 0 (an image without objects). */
  boxes: Tensor;
  /** (G) int64 class ids, 1..numClasses-1 (0 is the background). */
  labels: Tensor;
  /** (G, H, W) uint8 0/1 instance masks, the image's size; needed to train a mask head. */
  masks?: Tensor;
}

/** One image's detections, best first. */
export interface Detection {
  /** (K, 4) float32 x1, y1, x2, y2. */
  boxes: Tensor;
  /** (K) int64 class ids. */
  labels: Tensor;
  /** (K) float32 class probabilities. */
  scores: Tensor;
  /**
   * (K, 1, h, w) float32 mask probabilities: from the RoI heads, 28x28 in each box; after the
   * transform's postprocess, pasted into the image (h, w the original image's size).
   */
  masks?: Tensor;
}

/** Named loss terms, as torchvision names them (loss_objectness, loss_rpn_box_reg, loss_classifier, loss_box_reg, loss_mask). */
export type DetectionLosses = Record<string, Tensor>;
