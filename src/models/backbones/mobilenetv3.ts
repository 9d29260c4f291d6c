// MobileNetV3-Large (Howard et al. 2019) as torchvision builds it: inverted residual blocks
// with optional squeeze-excitation and hard-swish, BatchNorm eps 0.001 momentum 0.01. The
// segmentation builders use the dilated variant: the last stage (C4) keeps stride 16 and
// dilates by 2 instead.
import { Tensor } from '../../torch/index.js';
import {
  BatchNorm2d, Conv2d, Conv2dNormActivation, Dropout, Hardsigmoid, Hardswish, Linear, Module, ReLU, Sequential, SqueezeExcitation,
  AdaptiveAvgPool2d, batchNorm, init, takeChild, type ActivationFactory,
} from '../../nn/index.js';
import { IntermediateLayerGetter } from './features.js';

/** A channel count rounded to a multiple of `divisor`, never below 90% of `v` (torchvision's _make_divisible). */
export function makeDivisible(v: number, divisor = 8, minValue?: number): number {
  const min = minValue ?? divisor;
  let n = Math.max(min, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** One block of the table: in, kernel, expanded, out, squeeze-excitation, activation, stride, dilation. */
export interface InvertedResidualConfig {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  useSE: boolean;
  /** 'HS' hard-swish, 'RE' ReLU */
  activation: 'HS' | 'RE';
  stride: number;
  dilation: number;
}

const bnV3 = batchNorm({ eps: 0.001, momentum: 0.01 });

export class InvertedResidual extends Module {
  declare block: Sequential;
  readonly useResConnect: boolean;
  readonly outChannels: number;
  /** The block reduces the resolution (torchvision's _is_cn): stage boundaries for feature extraction. */
  readonly isCn: boolean;

  constructor(cnf: InvertedResidualConfig) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new Error(`InvertedResidual: stride must be 1 or 2, got ${cnf.stride}`);
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const act: ActivationFactory = cnf.activation === 'HS' ? (o) => new Hardswish(o) : (o) => new ReLU(o);
    const layers: Module[] = [];
    if (cnf.expandedChannels !== cnf.inputChannels) {
      layers.push(new Conv2dNormActivation(cnf.inputChannels, cnf.expandedChannels, 1, { norm: bnV3, activation: act }));
    }
    const stride = cnf.dilation > 1 ? 1 : cnf.stride;
    layers.push(new Conv2dNormActivation(cnf.expandedChannels, cnf.expandedChannels, cnf.kernel, { stride, dilation: cnf.dilation, groups: cnf.expandedChannels, norm: bnV3, activation: act }));
    if (cnf.useSE) {
      const squeeze = makeDivisible(Math.floor(cnf.expandedChannels / 4), 8);
      layers.push(new SqueezeExcitation(cnf.expandedChannels, squeeze, { scaleActivation: () => new Hardsigmoid() }));
    }
    layers.push(new Conv2dNormActivation(cnf.expandedChannels, cnf.outChannels, 1, { norm: bnV3, activation: null }));
    this.block = new Sequential(...layers);
    this.outChannels = cnf.outChannels;
    this.isCn = cnf.stride > 1;
  }

  override forward(x: Tensor): Tensor {
    const y: Tensor = this.block.call(x);
    return this.useResConnect ? y.add_(x) : y;
  }
}

/** torchvision's table for mobilenet_v3_large; `dilated` dilates the last stage by 2. */
export function mobileNetV3LargeConfig(dilated = false): InvertedResidualConfig[] {
  const d = dilated ? 2 : 1;
  const rows: [number, number, number, number, boolean, 'HS' | 'RE', number, number][] = [
    [16, 3, 16, 16, false, 'RE', 1, 1],
    [16, 3, 64, 24, false, 'RE', 2, 1], // C1
    [24, 3, 72, 24, false, 'RE', 1, 1],
    [24, 5, 72, 40, true, 'RE', 2, 1], // C2
    [40, 5, 120, 40, true, 'RE', 1, 1],
    [40, 5, 120, 40, true, 'RE', 1, 1],
    [40, 3, 240, 80, false, 'HS', 2, 1], // C3
    [80, 3, 200, 80, false, 'HS', 1, 1],
    [80, 3, 184, 80, false, 'HS', 1, 1],
    [80, 3, 184, 80, false, 'HS', 1, 1],
    [80, 3, 480, 112, true, 'HS', 1, 1],
    [112, 3, 672, 112, true, 'HS', 1, 1],
    [112, 5, 672, 160, true, 'HS', 2, d], // C4
    [160, 5, 960, 160, true, 'HS', 1, d],
    [160, 5, 960, 160, true, 'HS', 1, d],
  ];
  return rows.map(([inputChannels, kernel, expandedChannels, outChannels, useSE, activation, stride, dilation]) => ({
    inputChannels: makeDivisible(inputChannels), kernel, expandedChannels: makeDivisible(expandedChannels), outChannels: makeDivisible(outChannels), useSE, activation, stride, dilation,
  }));
}

export interface MobileNetV3Options {
  numClasses?: number;
  inChannels?: number;
  /** Dilate the last stage instead of striding (output stride 16), as the segmentation builders do. */
  dilated?: boolean;
  dropout?: number;
}

/** features (stem, 15 blocks, 1x1 conv to 960) → avgpool → classifier; (N, 3, H, W) → (N, numClasses). */
export class MobileNetV3 extends Module {
  declare features: Sequential;
  declare avgpool: AdaptiveAvgPool2d;
  declare classifier: Sequential;

  constructor(settings: InvertedResidualConfig[], lastChannel: number, opts: MobileNetV3Options = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, dropout = 0.2 } = opts;
    const hs: ActivationFactory = (o) => new Hardswish(o);
    const first = settings[0].inputChannels;
    const lastIn = settings[settings.length - 1].outChannels;
    const lastOut = 6 * lastIn;
    this.features = new Sequential(
      new Conv2dNormActivation(inChannels, first, 3, { stride: 2, norm: bnV3, activation: hs }),
      ...settings.map((cnf) => new InvertedResidual(cnf)),
      new Conv2dNormActivation(lastIn, lastOut, 1, { norm: bnV3, activation: hs }),
    );
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.classifier = new Sequential(new Linear(lastOut, lastChannel), new Hardswish({ inplace: true }), new Dropout({ p: dropout, inplace: true }), new Linear(lastChannel, numClasses));

    // torchvision's initialisation
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        init.kaimingNormal_(m.weight, { mode: 'fan_out' });
        if (m.bias) init.zeros_(m.bias);
      } else if (m instanceof BatchNorm2d) {
        init.ones_(m.weight!);
        init.zeros_(m.bias!);
      } else if (m instanceof Linear) {
        init.normal_(m.weight, 0, 0.01);
        init.zeros_(m.bias!);
      }
    }
  }

  override forward(x: Tensor): Tensor {
    const f: Tensor = this.avgpool.call(this.features.call(x));
    return this.classifier.call(f.flatten(1));
  }
}

/** torchvision's mobilenet_v3_large. */
export function mobileNetV3Large(opts: MobileNetV3Options = {}): MobileNetV3 {
  return new MobileNetV3(mobileNetV3LargeConfig(opts.dilated), makeDivisible(1280), opts);
}

/**
 * The dilated MobileNetV3-Large features as torchvision's segmentation builders take them:
 * `last` names the output of the last layer (960 channels, stride 16) and `early`, when given,
 * the output of the block that starts the fourth-from-last stage (40 channels, stride 8).
 */
export function mobileNetV3Features(names: { last: string; early?: string }, inChannels = 3): {
  features: IntermediateLayerGetter;
  lastChannels: number;
  earlyChannels: number;
} {
  const net = mobileNetV3Large({ dilated: true, inChannels });
  const blocks = net.features.children();
  // stage boundaries: the stem, every block that reduces the resolution, and the last layer
  const stages = [0, ...blocks.flatMap((b, i) => (b instanceof InvertedResidual && b.isCn ? [i] : [])), blocks.length - 1];
  const lastPos = stages[stages.length - 1];
  const earlyPos = stages[stages.length - 4];
  const channels = (i: number): number => (blocks[i] as InvertedResidual | Conv2dNormActivation).outChannels;
  const returnLayers: Record<string, string> = { [String(lastPos)]: names.last };
  if (names.early !== undefined) returnLayers[String(earlyPos)] = names.early;
  const features = takeChild(net, 'features') as Sequential;
  net.dispose(); // the classifier
  return { features: new IntermediateLayerGetter(features, returnLayers), lastChannels: channels(lastPos), earlyChannels: channels(earlyPos) };
}
