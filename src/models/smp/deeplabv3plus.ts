// DeepLabV3+ (Chen et al. 2018) as segmentation_models_pytorch 0.5 builds it (smp.DeepLabV3Plus):
// an encoder dilated to output stride 16 (or 8) feeds atrous spatial pyramid pooling with
// separable convs (rates 12, 24, 36); the result, upsampled to stride 4, is concatenated with the
// stride-4 map reduced to 48 channels and fused by a separable 3x3 conv; a 1x1 conv and a x4
// bilinear upsampling give the logits. Keys are smp's (`encoder.*`, `decoder.aspp.*`,
// `decoder.block1/2.*`, `segmentation_head.*`), so a state dict saved by smp loads unchanged.
//
// The input's sides must be a multiple of the output stride: others are padded and cropped back.
import { Tensor, cat } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Module, ReLU, Sequential, Upsample } from '../../nn/index.js';
import { ASPP } from '../deeplabv3.js';
import { EncoderDecoderModel, SegmentationHead } from './base.js';
import { getEncoder, type EncoderName } from './encoders.js';

/** A depthwise conv then a pointwise 1x1 conv ('0', '1'). */
export class SeparableConv2d extends Sequential {
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: { padding?: number; dilation?: number; bias?: boolean } = {}) {
    const { padding = 0, dilation = 1, bias = true } = opts;
    super(
      new Conv2d(inChannels, inChannels, kernelSize, { padding, dilation, groups: inChannels, bias: false }),
      new Conv2d(inChannels, outChannels, 1, { bias }),
    );
  }
}

/** Separable 3x3 conv with dilation `rate`, BN, ReLU: a dilated branch of smp's pyramid. */
export class ASPPSeparableConv extends Sequential {
  constructor(inChannels: number, outChannels: number, rate: number) {
    super(new SeparableConv2d(inChannels, outChannels, 3, { padding: rate, dilation: rate, bias: false }), new BatchNorm2d(outChannels), new ReLU());
  }
}

export class DeepLabV3PlusDecoder extends Module {
  declare aspp: Sequential;
  declare up: Upsample;
  declare block1: Sequential;
  declare block2: Sequential;

  /** encoderChannels: of [x, stride 2, ..., stride 32]. */
  constructor(encoderChannels: readonly number[], outChannels = 256, atrousRates = [12, 24, 36], outputStride: 8 | 16 = 16) {
    super();
    const highRes = 48; // the paper's reduction of the stride-4 map
    this.aspp = new Sequential(
      new ASPP(encoderChannels[encoderChannels.length - 1], atrousRates, outChannels, ASPPSeparableConv),
      new SeparableConv2d(outChannels, outChannels, 3, { padding: 1, bias: false }),
      new BatchNorm2d(outChannels),
      new ReLU(),
    );
    this.up = new Upsample({ scaleFactor: outputStride === 16 ? 4 : 2, mode: 'bilinear', alignCorners: true });
    this.block1 = new Sequential(new Conv2d(encoderChannels[2], highRes, 1, { bias: false }), new BatchNorm2d(highRes), new ReLU());
    this.block2 = new Sequential(new SeparableConv2d(highRes + outChannels, outChannels, 3, { padding: 1, bias: false }), new BatchNorm2d(outChannels), new ReLU());
  }

  /** features: [x, stride 2, ..., stride 32 (dilated)] → (N, outChannels, H/4, W/4) */
  override forward(features: Tensor[]): Tensor {
    const context = this.up.call(this.aspp.call(features[features.length - 1])); // stride 4
    const detail = this.block1.call(features[2]); //                                  stride 4
    return this.block2.call(cat([context, detail], 1));
  }
}

export class DeepLabV3Plus extends EncoderDecoderModel {
  declare decoder: DeepLabV3PlusDecoder;
}

export interface DeepLabV3PlusOptions {
  /** Output channels of the head (smp's classes; default 1). */
  numClasses?: number;
  /** Channels of the input, the encoder's first conv (default 3). */
  inChannels?: number;
  /** 16 (default) or 8: the encoder dilates its last stage (16) or two (8) instead of striding. */
  encoderOutputStride?: 8 | 16;
  /** Dilation rates of the pyramid's three separable branches (default [12, 24, 36]). */
  decoderAtrousRates?: [number, number, number];
}

/** smp.DeepLabV3Plus(encoderName, classes=numClasses, in_channels=inChannels), without pretrained weights. */
export function deeplabv3plus(encoderName: EncoderName, opts: DeepLabV3PlusOptions = {}): DeepLabV3Plus {
  const { numClasses = 1, inChannels = 3, encoderOutputStride = 16, decoderAtrousRates = [12, 24, 36] } = opts;
  if (encoderOutputStride !== 8 && encoderOutputStride !== 16) throw new Error(`DeepLabV3Plus: encoderOutputStride must be 8 or 16, got ${encoderOutputStride}`);
  if (decoderAtrousRates.length !== 3) throw new Error(`DeepLabV3Plus: decoderAtrousRates needs three rates, got [${decoderAtrousRates.join(', ')}]`);
  const encoder = getEncoder(encoderName, { inChannels, outputStride: encoderOutputStride });
  const decoder = new DeepLabV3PlusDecoder(encoder.outChannels, 256, decoderAtrousRates, encoderOutputStride);
  return new DeepLabV3Plus(encoder, decoder, new SegmentationHead(256, numClasses, 1, 4), numClasses, encoderOutputStride);
}

/** smp.DeepLabV3Plus('resnet18'). */
export const deeplabv3plusResNet18 = (opts: DeepLabV3PlusOptions = {}): DeepLabV3Plus => deeplabv3plus('resnet18', opts);
/** smp.DeepLabV3Plus('resnet34'): smp's default DeepLabV3Plus. */
export const deeplabv3plusResNet34 = (opts: DeepLabV3PlusOptions = {}): DeepLabV3Plus => deeplabv3plus('resnet34', opts);
/** smp.DeepLabV3Plus('resnet50'). */
export const deeplabv3plusResNet50 = (opts: DeepLabV3PlusOptions = {}): DeepLabV3Plus => deeplabv3plus('resnet50', opts);
/** smp.DeepLabV3Plus('resnet101'). */
export const deeplabv3plusResNet101 = (opts: DeepLabV3PlusOptions = {}): DeepLabV3Plus => deeplabv3plus('resnet101', opts);
/** smp.DeepLabV3Plus('mobilenet_v2'): report 002's DeepLab-MobileNetV2. */
export const deeplabv3plusMobileNetV2 = (opts: DeepLabV3PlusOptions = {}): DeepLabV3Plus => deeplabv3plus('mobilenet_v2', opts);
