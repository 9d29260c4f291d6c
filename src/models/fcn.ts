// FCN (Long et al. 2015) as torchvision builds it: a dilated ResNet (output stride 8) behind an
// IntermediateLayerGetter, an FCNHead on layer4 and an optional FCNHead on layer3 (aux).
import { BatchNorm2d, Conv2d, Dropout, ReLU, Sequential } from '../nn/index.js';
import { resnet, type ResNetName } from './backbones/resnet.js';
import { IntermediateLayerGetter } from './backbones/features.js';
import { SimpleSegmentationModel } from './segmentation.js';
import type { SegmentationBuilderOptions } from './options.js';

/** 3x3 conv to a quarter of the channels, BN, ReLU, dropout 0.1, 1x1 conv to the classes. */
export class FCNHead extends Sequential {
  constructor(inChannels: number, channels: number) {
    const inter = Math.floor(inChannels / 4);
    super(
      new Conv2d(inChannels, inter, 3, { padding: 1, bias: false }),
      new BatchNorm2d(inter),
      new ReLU(),
      new Dropout(0.1),
      new Conv2d(inter, channels, 1),
    );
  }
}

/** A dilated ResNet backbone giving `out` (layer4) and, with aux, `aux` (layer3). */
export function dilatedResNetFeatures(name: ResNetName, auxLoss: boolean, inChannels = 3): IntermediateLayerGetter {
  const net = resnet(name, { replaceStrideWithDilation: [false, true, true], inChannels });
  return new IntermediateLayerGetter(net, auxLoss ? { layer3: 'aux', layer4: 'out' } : { layer4: 'out' });
}

export class FCN extends SimpleSegmentationModel {}

function fcnResNet(name: ResNetName, opts: SegmentationBuilderOptions): FCN {
  const { numClasses = 21, auxLoss = false, inChannels = 3 } = opts;
  const backbone = dilatedResNetFeatures(name, auxLoss, inChannels);
  return new FCN(backbone, new FCNHead(2048, numClasses), auxLoss ? new FCNHead(1024, numClasses) : undefined, numClasses);
}

/** torchvision's fcn_resnet50: FCN on a ResNet-50 with output stride 8. */
export const fcnResNet50 = (opts: SegmentationBuilderOptions = {}): FCN => fcnResNet('resnet50', opts);
/** torchvision's fcn_resnet101. */
export const fcnResNet101 = (opts: SegmentationBuilderOptions = {}): FCN => fcnResNet('resnet101', opts);
