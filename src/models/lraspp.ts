// Lite R-ASPP (Howard et al. 2019, the MobileNetV3 paper) as torchvision builds it: the
// high-level map (stride 16) is reduced to 128 channels and gated by its pooled sigmoid
// attention, upsampled to the low-level map (stride 8), and both are classified and summed.
import { Tensor, F } from '../torch/index.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Module, ReLU, Sequential, Sigmoid } from '../nn/index.js';
import { mobileNetV3Features } from './backbones/mobilenetv3.js';
import type { IntermediateLayerGetter, Features } from './backbones/features.js';
import { resizeLogits, spatialSize, type SegmentationModel, type SegmentationOutput } from './segmentation.js';
import type { SegmentationBuilderOptions } from './options.js';

export class LRASPPHead extends Module {
  declare cbr: Sequential;
  declare scale: Sequential;
  declare low_classifier: Conv2d;
  declare high_classifier: Conv2d;

  constructor(lowChannels: number, highChannels: number, numClasses: number, interChannels: number) {
    super();
    this.cbr = new Sequential(new Conv2d(highChannels, interChannels, 1, { bias: false }), new BatchNorm2d(interChannels), new ReLU({ inplace: true }));
    this.scale = new Sequential(new AdaptiveAvgPool2d(1), new Conv2d(highChannels, interChannels, 1, { bias: false }), new Sigmoid());
    this.low_classifier = new Conv2d(lowChannels, numClasses, 1);
    this.high_classifier = new Conv2d(interChannels, numClasses, 1);
  }

  override forward(features: Features): Tensor {
    const { low, high } = features;
    const x: Tensor = this.cbr.call(high).mul(this.scale.call(high));
    const up = F.interpolate(x, { size: spatialSize(low), mode: 'bilinear', alignCorners: false });
    return this.low_classifier.call(low).add(this.high_classifier.call(up));
  }
}

export class LRASPP extends Module implements SegmentationModel {
  declare backbone: IntermediateLayerGetter;
  declare classifier: LRASPPHead;
  readonly numClasses: number;

  constructor(backbone: IntermediateLayerGetter, lowChannels: number, highChannels: number, numClasses: number, interChannels = 128) {
    super();
    this.backbone = backbone;
    this.classifier = new LRASPPHead(lowChannels, highChannels, numClasses, interChannels);
    this.numClasses = numClasses;
  }

  override forward(x: Tensor): SegmentationOutput {
    return { out: resizeLogits(this.classifier.call(this.backbone.call(x)), spatialSize(x)) };
  }
}

/** torchvision's lraspp_mobilenet_v3_large (no aux head: torchvision refuses aux_loss for it). */
export function lrasppMobileNetV3Large(opts: SegmentationBuilderOptions = {}): LRASPP {
  const { numClasses = 21, inChannels = 3 } = opts;
  if (opts.auxLoss) throw new Error('lraspp_mobilenet_v3_large has no auxiliary head (as in torchvision): leave auxLoss off');
  const { features, lastChannels, earlyChannels } = mobileNetV3Features({ last: 'high', early: 'low' }, inChannels);
  return new LRASPP(features, earlyChannels, lastChannels, numClasses);
}
