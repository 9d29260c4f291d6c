// DeepLabv3 (Chen et al. 2017) as torchvision builds it: a dilated backbone, atrous spatial
// pyramid pooling (ASPP: a 1x1 conv, three dilated 3x3 convs and image pooling, concatenated and
// projected), then a 3x3 conv and a 1x1 classifier; an FCNHead on an earlier stage as aux.
import { Tensor, F } from '../torch/index.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Module, ModuleList, ReLU, Sequential } from '../nn/index.js';
import { FCNHead, dilatedResNetFeatures } from './fcn.js';
import { SimpleSegmentationModel, spatialSize } from './segmentation.js';
import { mobileNetV3Features } from './backbones/mobilenetv3.js';
import type { ResNetName } from './backbones/resnet.js';
import type { SegmentationBuilderOptions } from './options.js';

/** 3x3 conv with dilation `rate`, BN, ReLU: one branch of the pyramid. */
export class ASPPConv extends Sequential {
  constructor(inChannels: number, outChannels: number, rate: number) {
    super(new Conv2d(inChannels, outChannels, 3, { padding: rate, dilation: rate, bias: false }), new BatchNorm2d(outChannels), new ReLU());
  }
}

/** Image-level features: global average pool, 1x1 conv, BN, ReLU, upsampled back to the map's size. */
export class ASPPPooling extends Sequential {
  constructor(inChannels: number, outChannels: number) {
    super(new AdaptiveAvgPool2d(1), new Conv2d(inChannels, outChannels, 1, { bias: false }), new BatchNorm2d(outChannels), new ReLU());
  }

  override forward(x: Tensor): Tensor {
    return F.interpolate(super.forward(x), { size: spatialSize(x), mode: 'bilinear', alignCorners: false });
  }
}

/** A dilated branch of the pyramid: ASPPConv here, smp's DeepLabV3+ uses a separable one. */
export type AtrousBranch = new (inChannels: number, outChannels: number, rate: number) => Module;

/** The pyramid: five branches on the same map, concatenated (5 x 256 channels) and projected to 256. */
export class ASPP extends Module {
  declare convs: ModuleList;
  declare project: Sequential;

  constructor(inChannels: number, atrousRates: number[], outChannels = 256, branch: AtrousBranch = ASPPConv) {
    super();
    this.convs = new ModuleList([
      new Sequential(new Conv2d(inChannels, outChannels, 1, { bias: false }), new BatchNorm2d(outChannels), new ReLU()),
      ...atrousRates.map((rate) => new branch(inChannels, outChannels, rate)),
      new ASPPPooling(inChannels, outChannels),
    ]);
    const branches = this.convs.length;
    this.project = new Sequential(new Conv2d(branches * outChannels, outChannels, 1, { bias: false }), new BatchNorm2d(outChannels), new ReLU(), new Dropout(0.5));
  }

  override forward(x: Tensor): Tensor {
    const branches = [...this.convs].map((conv) => conv.call(x));
    return this.project.callOnConcat(branches); // = project(cat(branches, 1))
  }
}

/** ASPP, 3x3 conv, BN, ReLU, 1x1 conv to the classes. */
export class DeepLabHead extends Sequential {
  constructor(inChannels: number, numClasses: number, atrousRates: number[] = [12, 24, 36]) {
    super(
      new ASPP(inChannels, atrousRates),
      new Conv2d(256, 256, 3, { padding: 1, bias: false }),
      new BatchNorm2d(256),
      new ReLU(),
      new Conv2d(256, numClasses, 1),
    );
  }
}

export class DeepLabV3 extends SimpleSegmentationModel {}

function deeplabv3ResNet(name: ResNetName, opts: SegmentationBuilderOptions): DeepLabV3 {
  const { numClasses = 21, auxLoss = false, inChannels = 3 } = opts;
  const backbone = dilatedResNetFeatures(name, auxLoss, inChannels);
  return new DeepLabV3(backbone, new DeepLabHead(2048, numClasses), auxLoss ? new FCNHead(1024, numClasses) : undefined, numClasses);
}

/** torchvision's deeplabv3_resnet50: output stride 8, ASPP rates 12/24/36. */
export const deeplabv3ResNet50 = (opts: SegmentationBuilderOptions = {}): DeepLabV3 => deeplabv3ResNet('resnet50', opts);
/** torchvision's deeplabv3_resnet101. */
export const deeplabv3ResNet101 = (opts: SegmentationBuilderOptions = {}): DeepLabV3 => deeplabv3ResNet('resnet101', opts);

/** torchvision's deeplabv3_mobilenet_v3_large: the dilated MobileNetV3-Large (output stride 16). */
export function deeplabv3MobileNetV3Large(opts: SegmentationBuilderOptions = {}): DeepLabV3 {
  const { numClasses = 21, auxLoss = false, inChannels = 3 } = opts;
  const { features, lastChannels, earlyChannels } = mobileNetV3Features({ last: 'out', early: auxLoss ? 'aux' : undefined }, inChannels);
  return new DeepLabV3(features, new DeepLabHead(lastChannels, numClasses), auxLoss ? new FCNHead(earlyChannels, numClasses) : undefined, numClasses);
}
