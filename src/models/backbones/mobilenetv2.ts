// MobileNetV2 (Sandler et al. 2018) as torchvision builds it: a 3x3 stem, inverted residual
// blocks (1x1 expand, 3x3 depthwise, 1x1 linear projection) with ReLU6, and a 1x1 conv to 1280.
import { Tensor, F } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Conv2dNormActivation, Dropout, Linear, Module, ReLU6, Sequential, init, type ActivationFactory } from '../../nn/index.js';
import { makeDivisible } from './mobilenetv3.js';

const relu6: ActivationFactory = (o) => new ReLU6(o);

export class InvertedResidualV2 extends Module {
  declare conv: Sequential;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(inp: number, oup: number, stride: number, expandRatio: number, dilation = 1) {
    super();
    if (stride !== 1 && stride !== 2) throw new Error(`InvertedResidual: stride must be 1 or 2, got ${stride}`);
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(new Conv2dNormActivation(inp, hidden, 1, { activation: relu6 }));
    layers.push(
      new Conv2dNormActivation(hidden, hidden, 3, { stride, dilation, groups: hidden, activation: relu6 }),
      new Conv2d(hidden, oup, 1, { bias: false }),
      new BatchNorm2d(oup),
    );
    this.conv = new Sequential(...layers);
    this.outChannels = oup;
  }

  override forward(x: Tensor): Tensor {
    const y: Tensor = this.conv.call(x);
    return this.useResConnect ? y.add_(x) : y;
  }
}

export interface MobileNetV2Options {
  numClasses?: number;
  inChannels?: number;
  widthMult?: number;
  dropout?: number;
  /**
   * 32 (default, torchvision) or 16 / 8: past this output stride, strides become dilation, and
   * every block from there on dilates its depthwise conv by the accumulated rate (smp's dilated
   * MobileNetV2 encoder: features 7-13 at rate 2 for 8; features 14-18 at 2 for 16, 4 for 8).
   */
  outputStride?: 8 | 16 | 32;
}

/** expansion t, channels c, repeats n, stride s of each stage */
const SETTINGS: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** features (stem, 17 blocks, 1x1 conv to 1280) → pool → classifier; (N, 3, H, W) → (N, numClasses). */
export class MobileNetV2 extends Module {
  declare features: Sequential;
  declare classifier: Sequential;

  constructor(opts: MobileNetV2Options = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, widthMult = 1, dropout = 0.2, outputStride = 32 } = opts;
    if (![8, 16, 32].includes(outputStride)) throw new Error(`MobileNetV2: outputStride must be 8, 16 or 32, got ${outputStride}`);
    let input = makeDivisible(32 * widthMult);
    const last = makeDivisible(1280 * Math.max(1, widthMult));
    const layers: Module[] = [new Conv2dNormActivation(inChannels, input, 3, { stride: 2, activation: relu6 })];
    let stride = 2; // the stem's
    let dilation = 1;
    for (const [t, c, n, s] of SETTINGS) {
      const output = makeDivisible(c * widthMult);
      let first = s;
      if (s > 1 && stride >= outputStride) {
        dilation *= s;
        first = 1;
      } else stride *= s;
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidualV2(input, output, i === 0 ? first : 1, t, dilation));
        input = output;
      }
    }
    layers.push(new Conv2dNormActivation(input, last, 1, { activation: relu6 }));
    this.features = new Sequential(...layers);
    this.classifier = new Sequential(new Dropout(dropout), new Linear(last, numClasses));

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
    const f: Tensor = this.features.call(x);
    return this.classifier.call(F.adaptiveAvgPool2d(f, 1).flatten(1));
  }
}

/** torchvision's mobilenet_v2. */
export const mobileNetV2 = (opts: MobileNetV2Options = {}): MobileNetV2 => new MobileNetV2(opts);
