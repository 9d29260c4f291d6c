// U-Net (Ronneberger et al. 2015) as segmentation_models_pytorch 0.5 builds it (smp.Unet): an
// ImageNet encoder gives maps at strides 2..32; five decoder blocks each upsample (nearest, to
// the next map's exact size, so any input size works), concatenate that map and run two
// conv-BN-ReLU; a 3x3 conv gives the logits. Keys are smp's (`encoder.*`, `decoder.blocks.*`,
// `segmentation_head.*`), so a state dict saved by smp loads unchanged. (smp's decoder also holds
// a center block and attention slots: Identity for these encoders, without parameters, left out.)
import { Tensor, F } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Module, ModuleList, ReLU, Sequential } from '../../nn/index.js';
import { spatialSize } from '../segmentation.js';
import { EncoderDecoderModel, SegmentationHead } from './base.js';
import { getEncoder, type EncoderName } from './encoders.js';

/** conv (no bias) → BatchNorm → ReLU, named '0', '1', '2' (smp's Conv2dReLU). */
export class Conv2dReLU extends Sequential {
  constructor(inChannels: number, outChannels: number, kernelSize: number, padding = 0) {
    super(new Conv2d(inChannels, outChannels, kernelSize, { padding, bias: false }), new BatchNorm2d(outChannels), new ReLU({ inplace: true }));
  }
}

/** Upsample to the skip's size, concatenate the skip, two 3x3 Conv2dReLU. */
export class UnetDecoderBlock extends Module {
  declare conv1: Conv2dReLU;
  declare conv2: Conv2dReLU;

  constructor(inChannels: number, skipChannels: number, outChannels: number) {
    super();
    this.conv1 = new Conv2dReLU(inChannels + skipChannels, outChannels, 3, 1);
    this.conv2 = new Conv2dReLU(outChannels, outChannels, 3, 1);
  }

  override forward(x: Tensor, size: [number, number], skip?: Tensor): Tensor {
    const up = F.interpolate(x, { size, mode: 'nearest' });
    const y = skip === undefined ? this.conv1.call(up) : this.conv1.callOnConcat([up, skip]); // = conv1(cat([up, skip], 1))
    return this.conv2.call(y);
  }
}

export class UnetDecoder extends Module {
  declare blocks: ModuleList<UnetDecoderBlock>;

  /** encoderChannels: of [x, stride 2, ..., stride 32]; decoderChannels: each block's output. */
  constructor(encoderChannels: readonly number[], decoderChannels: readonly number[] = [256, 128, 64, 32, 16]) {
    super();
    const encoder = encoderChannels.slice(1).reverse(); // stride 32 first; x is no skip
    if (decoderChannels.length !== encoder.length) {
      throw new Error(`UnetDecoder: ${decoderChannels.length} decoder channels given for ${encoder.length} encoder stages; give one per stage`);
    }
    const inChannels = [encoder[0], ...decoderChannels.slice(0, -1)];
    const skipChannels = [...encoder.slice(1), 0];
    this.blocks = new ModuleList(decoderChannels.map((out, i) => new UnetDecoderBlock(inChannels[i], skipChannels[i], out)));
  }

  /** features: [x, stride 2, ..., stride 32] → (N, decoderChannels[-1], H, W) */
  override forward(features: Tensor[]): Tensor {
    const sizes = features.map(spatialSize).reverse(); // [stride 32, ..., stride 2, input]
    const [head, ...skips] = features.slice(1).reverse();
    let x = head;
    [...this.blocks].forEach((block, i) => {
      x = block.call(x, sizes[i + 1], skips[i]);
    });
    return x;
  }
}

export class Unet extends EncoderDecoderModel {
  declare decoder: UnetDecoder;
}

export interface UnetOptions {
  /** Output channels of the 3x3 head (smp's classes; default 1). */
  numClasses?: number;
  /** Channels of the input, the encoder's first conv (default 3). */
  inChannels?: number;
  /** Output channels of the five decoder blocks (default [256, 128, 64, 32, 16]). */
  decoderChannels?: number[];
}

/** smp.Unet(encoderName, classes=numClasses, in_channels=inChannels), without pretrained weights. */
export function unet(encoderName: EncoderName, opts: UnetOptions = {}): Unet {
  const { numClasses = 1, inChannels = 3, decoderChannels = [256, 128, 64, 32, 16] } = opts;
  if (decoderChannels.length !== 5) throw new Error(`Unet: decoderChannels needs one width per encoder stage (5), got [${decoderChannels.join(', ')}]`);
  const encoder = getEncoder(encoderName, { inChannels });
  const decoder = new UnetDecoder(encoder.outChannels, decoderChannels);
  return new Unet(encoder, decoder, new SegmentationHead(decoderChannels[decoderChannels.length - 1], numClasses, 3), numClasses);
}

/** smp.Unet('resnet18'). */
export const unetResNet18 = (opts: UnetOptions = {}): Unet => unet('resnet18', opts);
/** smp.Unet('resnet34'): smp's default Unet. */
export const unetResNet34 = (opts: UnetOptions = {}): Unet => unet('resnet34', opts);
/** smp.Unet('resnet50'). */
export const unetResNet50 = (opts: UnetOptions = {}): Unet => unet('resnet50', opts);
