// UNet (Ronneberger et al. 2015) as in the Oxford-IIIT Pet report: each stage is
// (conv3x3, BatchNorm, ReLU) x2; 2x2 max-pool down; up by a 2x2 transposed conv (or bilinear
// upsampling and a 1x1 conv), concatenated after the skip; a 1x1 head. State-dict keys match
// bench/peers/unet.py: enc1..encD, bottleneck, up{D..1}, dec{D..1}, head.
//
// Any input size works: the input is padded to a multiple of 2^depth and the logits cropped back.
import { Tensor, tidy } from '../torch/index.js';
import { BatchNorm2d, Conv2d, ConvTranspose2d, MaxPool2d, Module, ReLU, Sequential, Upsample } from '../nn/index.js';
import { padToMultiple, type SegmentationModel, type SegmentationOutput } from './segmentation.js';

/** (conv3x3 → BN → ReLU) x2 as `block.0` ... `block.5`; without BatchNorm the convs get a bias (`block.0`, `block.2`). */
export class DoubleConv extends Module {
  declare block: Sequential;
  constructor(inChannels: number, outChannels: number, batchNorm = true) {
    super();
    const stage = (cin: number): Module[] => batchNorm
      ? [new Conv2d(cin, outChannels, 3, { padding: 1, bias: false }), new BatchNorm2d(outChannels), new ReLU({ inplace: true })]
      : [new Conv2d(cin, outChannels, 3, { padding: 1 }), new ReLU({ inplace: true })];
    this.block = new Sequential(...stage(inChannels), ...stage(outChannels));
  }

  override forward(x: Tensor): Tensor {
    return this.block.call(x);
  }

  /** forward(cat([skip, up], 1)) without building the concatenation (Sequential.callOnConcat). */
  forwardConcat(parts: Tensor[]): Tensor {
    return this.block.callOnConcat(parts);
  }
}

export type UNetUpsampling = 'transposed' | 'bilinear';

export interface UNetOptions {
  inChannels?: number;
  numClasses?: number;
  /** Width of the first stage; each stage doubles it (default 32). */
  baseWidth?: number;
  /** Number of down-sampling stages (default 4). */
  depth?: number;
  /**
   * 'transposed' (default): a 2x2 transposed conv halves the channels while doubling the size;
   * 'bilinear': bilinear x2 upsampling then a 1x1 conv (`up{i}.1`), lighter and free of
   * checkerboard artefacts.
   */
  upsampling?: UNetUpsampling;
  /**
   * BatchNorm after every 3x3 conv (default true). Report 002's UNet without it stopped learning
   * after two epochs; turn it off only to reproduce such a model.
   */
  batchNorm?: boolean;
}

export class UNet extends Module implements SegmentationModel {
  readonly depth: number;
  readonly numClasses: number;
  readonly upsampling: UNetUpsampling;
  [stage: string]: unknown;

  constructor(opts: UNetOptions = {}) {
    super();
    const { inChannels = 3, numClasses = 2, baseWidth = 32, depth = 4, upsampling = 'transposed', batchNorm = true } = opts;
    if (!Number.isInteger(depth) || depth < 1) throw new Error(`UNet: depth must be a whole number >= 1, got ${depth}`);
    if (upsampling !== 'transposed' && upsampling !== 'bilinear') throw new Error(`UNet: upsampling must be 'transposed' or 'bilinear', got '${upsampling}'`);
    this.depth = depth;
    this.numClasses = numClasses;
    this.upsampling = upsampling;
    const widths = Array.from({ length: depth }, (_, i) => baseWidth * 2 ** i);
    let c = inChannels;
    for (let i = 0; i < depth; i++) {
      this[`enc${i + 1}`] = new DoubleConv(c, widths[i], batchNorm);
      c = widths[i];
    }
    this.pool = new MaxPool2d(2);
    this.bottleneck = new DoubleConv(c, c * 2, batchNorm);
    c *= 2;
    for (let i = depth - 1; i >= 0; i--) {
      this[`up${i + 1}`] = upsampling === 'transposed'
        ? new ConvTranspose2d(c, widths[i], 2, { stride: 2 })
        : new Sequential(new Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: false }), new Conv2d(c, widths[i], 1));
      this[`dec${i + 1}`] = new DoubleConv(widths[i] * 2, widths[i], batchNorm);
      c = widths[i];
    }
    this.head = new Conv2d(c, numClasses, 1);
  }

  private stage<M extends Module = Module>(name: string): M {
    return this[name] as M;
  }

  /** (N, C, H, W) → { out: logits (N, numClasses, H, W) }. */
  override forward(x: Tensor): SegmentationOutput {
    return padToMultiple(x, 2 ** this.depth, (padded) => ({ out: this.stage('head').call(this.level(1, padded)) }));
  }

  /**
   * The U, one level at a time: encode the map entering level i, take what the levels below make
   * of it (upsampled back), decode both together (dec(cat([skip, up]))). Each step is its own
   * memory scope, so a map is freed as soon as the step that needs it returns.
   */
  private level(i: number, x: Tensor): Tensor {
    return tidy(() => {
      if (i > this.depth) return this.stage('bottleneck').call(x);
      const skip: Tensor = this.stage(`enc${i}`).call(x);
      return this.stage<DoubleConv>(`dec${i}`).forwardConcat([skip, this.below(i, skip)]);
    });
  }

  /** The levels below level i, on its pooled skip, upsampled back to level i's size. */
  private below(i: number, skip: Tensor): Tensor {
    return tidy(() => this.stage(`up${i}`).call(this.level(i + 1, this.stage('pool').call(skip))));
  }
}
