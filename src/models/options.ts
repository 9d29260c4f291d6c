// Options every segmentation builder takes (models.create(name, options) passes them through).
export interface SegmentationBuilderOptions {
  /** Output classes (torchvision's default: 21, the VOC classes). */
  numClasses?: number;
  /** Input channels (3 for RGB). */
  inChannels?: number;
  /** Add the auxiliary head (torchvision's aux_loss): its logits come back as `aux`. */
  auxLoss?: boolean;
}
