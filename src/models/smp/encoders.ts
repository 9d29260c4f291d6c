// smp's encoders: torchvision's ResNet and MobileNetV2 without their classifier, returning the
// input and the map after each of the five down-sampling stages (strides 1, 2, 4, 8, 16, 32), as
// smp's ResNetEncoder and MobileNetV2Encoder do. Their keys are torchvision's minus fc/classifier,
// so an ImageNet checkpoint loads into a model's `encoder` as it is. For output stride 16 or 8
// they dilate instead of striding, every conv of a dilated stage (smp's make_dilated).
import { Tensor, tidy } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, MaxPool2d, Module, ReLU, Sequential, takeChild } from '../../nn/index.js';
import { resnet, type ResNetName } from '../backbones/resnet.js';
import { MobileNetV2 } from '../backbones/mobilenetv2.js';

export type EncoderName = ResNetName | 'mobilenet_v2';
export const ENCODER_NAMES: readonly EncoderName[] = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'mobilenet_v2'];

/** An smp encoder: forward gives [x, stride 2, 4, 8, 16, 32 maps]; outChannels are their channels. */
export interface Encoder extends Module {
  forward(x: Tensor): Tensor[];
  readonly outChannels: readonly number[];
}

export interface EncoderOptions {
  inChannels?: number;
  /** 32 (default), or 16 / 8: dilate the last stage(s) instead of striding (DeepLabV3+). */
  outputStride?: 8 | 16 | 32;
}

/** torchvision's ResNet less avgpool and fc. */
export class ResNetEncoder extends Module implements Encoder {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare maxpool: MaxPool2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare layer4: Sequential;
  readonly outChannels: readonly number[];

  constructor(name: ResNetName, opts: EncoderOptions = {}) {
    super();
    const { inChannels = 3, outputStride = 32 } = opts;
    const net = resnet(name, { inChannels, dilationRule: 'smp', replaceStrideWithDilation: [false, outputStride === 8, outputStride <= 16] });
    const take = <M extends Module>(child: string): M => takeChild(net, child) as M;
    this.conv1 = take('conv1');
    this.bn1 = take('bn1');
    this.relu = take('relu');
    this.maxpool = take('maxpool');
    this.layer1 = take('layer1');
    this.layer2 = take('layer2');
    this.layer3 = take('layer3');
    this.layer4 = take('layer4');
    this.outChannels = [inChannels, 64, ...net.stageChannels];
    net.dispose(); // avgpool and fc
  }

  override forward(x: Tensor): Tensor[] {
    const f1 = this.relu.call(this.bn1.call(this.conv1.call(x))); // (N, 64, H/2, W/2)
    const f2 = this.layer1.call(this.maxpool.call(f1)); //            (N, C1, H/4, W/4)
    const f3 = this.layer2.call(f2); //                               (N, C2, H/8, W/8)
    const f4 = this.layer3.call(f3); //                               (N, C3, H/16, W/16)
    const f5 = this.layer4.call(f4); //                               (N, C4, H/32, W/32), or dilated
    return [x, f1, f2, f3, f4, f5];
  }

  override convBnPairs(): [string, string][] {
    return [['conv1', 'bn1']];
  }
}

/** The last block of each stage of torchvision's MobileNetV2 `features` (strides 2, 4, 8, 16, 32). */
const MOBILENET_V2_STAGE_ENDS = [1, 3, 6, 13, 18];

/** torchvision's MobileNetV2 less its classifier. */
export class MobileNetV2Encoder extends Module implements Encoder {
  declare features: Sequential;
  readonly outChannels: readonly number[];

  constructor(opts: EncoderOptions = {}) {
    super();
    const { inChannels = 3, outputStride = 32 } = opts;
    const net = new MobileNetV2({ inChannels, outputStride });
    this.features = takeChild(net, 'features') as Sequential;
    net.dispose(); // classifier
    this.outChannels = [inChannels, 16, 24, 32, 96, 1280];
  }

  override forward(x: Tensor): Tensor[] {
    const layers = this.features.children();
    const out = [x];
    let start = 0;
    for (const end of MOBILENET_V2_STAGE_ENDS) {
      // one memory scope per stage: only the stage's output outlives it
      out.push(tidy(() => layers.slice(start, end + 1).reduce((y, layer) => layer.call(y), out[out.length - 1])));
      start = end + 1;
    }
    return out;
  }
}

/** smp's get_encoder for the encoders segkit has: ImageNet classifiers of torchvision, unweighted. */
export function getEncoder(name: EncoderName, opts: EncoderOptions = {}): Encoder {
  if (opts.outputStride !== undefined && ![8, 16, 32].includes(opts.outputStride)) {
    throw new Error(`encoder ${name}: outputStride must be 8, 16 or 32, got ${opts.outputStride}`);
  }
  if (name === 'mobilenet_v2') return new MobileNetV2Encoder(opts);
  if (!ENCODER_NAMES.includes(name)) throw new Error(`unknown encoder '${name}'; choose one of ${ENCODER_NAMES.join(', ')}`);
  return new ResNetEncoder(name, opts);
}
