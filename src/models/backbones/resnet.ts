// ResNet (He et al. 2015) as torchvision builds it (v1.5: the stride sits on the 3x3 conv of a
// Bottleneck), with torchvision's parameter names, so `resnet50-*.pth` loads as it is.
// `replaceStrideWithDilation` turns the stride of layer2..4 into dilation (output stride 16 or 8),
// which is how torchvision's FCN and DeepLabv3 use it; `dilationRule: 'smp'` dilates the way
// segmentation_models_pytorch's encoders do (every conv of the stage). `norm` is torchvision's
// norm_layer: detection backbones pass FrozenBatchNorm2d.
import { Tensor } from '../../torch/index.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, ReLU, Sequential, init, type NormFactory } from '../../nn/index.js';

export type ResNetBlock = typeof BasicBlock | typeof Bottleneck;

interface BlockOptions {
  stride?: number;
  downsample?: Sequential;
  groups?: number;
  baseWidth?: number;
  dilation?: number;
  norm?: NormFactory;
}

const defaultNorm: NormFactory = (c) => new BatchNorm2d(c);

const conv3x3 = (inPlanes: number, outPlanes: number, stride = 1, groups = 1, dilation = 1): Conv2d =>
  new Conv2d(inPlanes, outPlanes, 3, { stride, padding: dilation, groups, bias: false, dilation });
const conv1x1 = (inPlanes: number, outPlanes: number, stride = 1): Conv2d => new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });

/**
 * Two 3x3 convs and a shortcut (ResNet-18/34). torchvision's BasicBlock refuses dilation (the
 * ResNet does so here for its rule); smp's dilated encoders dilate both convs.
 */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  declare conv1: Conv2d;
  declare bn1: Module;
  declare relu: ReLU;
  declare conv2: Conv2d;
  declare bn2: Module;
  declare downsample: Sequential | undefined;

  constructor(inPlanes: number, planes: number, opts: BlockOptions = {}) {
    super();
    const { stride = 1, groups = 1, baseWidth = 64, dilation = 1, norm = defaultNorm } = opts;
    if (groups !== 1 || baseWidth !== 64) throw new Error('BasicBlock only supports groups=1 and baseWidth=64 (as torchvision)');
    this.conv1 = conv3x3(inPlanes, planes, stride, 1, dilation);
    this.bn1 = norm(planes);
    this.relu = new ReLU({ inplace: true });
    this.conv2 = conv3x3(planes, planes, 1, 1, dilation);
    this.bn2 = norm(planes);
    this.registerModule('downsample', opts.downsample);
  }

  override forward(x: Tensor): Tensor {
    const identity = this.downsample ? this.downsample.call(x) : x;
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    return this.relu.call(out.add_(identity));
  }

  override convBnPairs(): [string, string][] {
    return [['conv1', 'bn1'], ['conv2', 'bn2']];
  }
}

/** 1x1 reduce, 3x3 (strided or dilated), 1x1 expand by 4, and a shortcut (ResNet-50/101). */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  declare conv1: Conv2d;
  declare bn1: Module;
  declare conv2: Conv2d;
  declare bn2: Module;
  declare conv3: Conv2d;
  declare bn3: Module;
  declare relu: ReLU;
  declare downsample: Sequential | undefined;

  constructor(inPlanes: number, planes: number, opts: BlockOptions = {}) {
    super();
    const { stride = 1, groups = 1, baseWidth = 64, dilation = 1, norm = defaultNorm } = opts;
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = conv1x1(inPlanes, width);
    this.bn1 = norm(width);
    this.conv2 = conv3x3(width, width, stride, groups, dilation);
    this.bn2 = norm(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = norm(planes * Bottleneck.expansion);
    this.relu = new ReLU({ inplace: true });
    this.registerModule('downsample', opts.downsample);
  }

  override forward(x: Tensor): Tensor {
    const identity = this.downsample ? this.downsample.call(x) : x;
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.relu.call(this.bn2.call(this.conv2.call(out)));
    out = this.bn3.call(this.conv3.call(out));
    return this.relu.call(out.add_(identity));
  }

  override convBnPairs(): [string, string][] {
    return [['conv1', 'bn1'], ['conv2', 'bn2'], ['conv3', 'bn3']];
  }
}

export interface ResNetOptions {
  /** Classes of the final Linear layer (ImageNet: 1000). */
  numClasses?: number;
  inChannels?: number;
  /** For layer2, layer3, layer4: replace the stride 2 by dilation (torchvision's replace_stride_with_dilation). */
  replaceStrideWithDilation?: [boolean, boolean, boolean];
  /**
   * Which convs a dilated stage dilates. 'torchvision' (default, torchvision's
   * replace_stride_with_dilation): the stage's first block keeps the previous dilation, the others
   * get the new one; BasicBlock ResNets refuse dilation. 'smp' (smp's replace_strides_with_dilation):
   * every conv of the stage, first block included, BasicBlocks too.
   */
  dilationRule?: 'torchvision' | 'smp';
  /** Zero the last BatchNorm of each block, so every block starts as the identity. */
  zeroInitResidual?: boolean;
  groups?: number;
  widthPerGroup?: number;
  /** Makes every normalisation layer (torchvision's norm_layer); default BatchNorm2d. */
  norm?: NormFactory;
}

/** conv1 → bn1 → relu → maxpool → layer1..4 → avgpool → fc; (N, 3, H, W) → (N, numClasses). */
export class ResNet extends Module {
  declare conv1: Conv2d;
  declare bn1: Module;
  declare relu: ReLU;
  declare maxpool: MaxPool2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare layer4: Sequential;
  declare avgpool: AdaptiveAvgPool2d;
  declare fc: Linear;
  /** Channels of layer1..layer4's outputs. */
  readonly stageChannels: number[];
  private inPlanes = 64;
  private dilation = 1;

  constructor(block: ResNetBlock, layers: [number, number, number, number], opts: ResNetOptions = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, replaceStrideWithDilation = [false, false, false], dilationRule = 'torchvision', groups = 1, widthPerGroup = 64, norm = defaultNorm } = opts;
    if (block === BasicBlock && dilationRule === 'torchvision' && replaceStrideWithDilation.some(Boolean)) {
      throw new Error("BasicBlock does not support dilation > 1 (as torchvision): use a Bottleneck ResNet (50/101) for output stride 8 or 16, or dilationRule: 'smp'");
    }
    const make = (planes: number, blocks: number, stride = 1, dilate = false): Sequential => {
      const previousDilation = this.dilation;
      if (dilate) {
        this.dilation *= stride;
        stride = 1;
      }
      const outPlanes = planes * block.expansion;
      const downsample = stride !== 1 || this.inPlanes !== outPlanes ? new Sequential(conv1x1(this.inPlanes, outPlanes, stride), norm(outPlanes)) : undefined;
      const common = { groups, baseWidth: widthPerGroup, norm };
      const firstDilation = dilationRule === 'smp' ? this.dilation : previousDilation;
      const seq = new Sequential(new block(this.inPlanes, planes, { ...common, stride, downsample, dilation: firstDilation }));
      this.inPlanes = outPlanes;
      for (let i = 1; i < blocks; i++) seq.append(new block(this.inPlanes, planes, { ...common, dilation: this.dilation }));
      return seq;
    };
    this.conv1 = new Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = norm(64);
    this.relu = new ReLU({ inplace: true });
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = make(64, layers[0]);
    this.layer2 = make(128, layers[1], 2, replaceStrideWithDilation[0]);
    this.layer3 = make(256, layers[2], 2, replaceStrideWithDilation[1]);
    this.layer4 = make(512, layers[3], 2, replaceStrideWithDilation[2]);
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.fc = new Linear(512 * block.expansion, numClasses);
    this.stageChannels = [64, 128, 256, 512].map((c) => c * block.expansion);

    // torchvision's initialisation
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        init.ones_(m.weight!);
        init.zeros_(m.bias!);
      }
    }
    if (opts.zeroInitResidual) {
      for (const m of this.modules()) {
        const last = m instanceof Bottleneck ? m.bn3 : m instanceof BasicBlock ? m.bn2 : undefined;
        const weight = (last as { weight?: unknown } | undefined)?.weight;
        if (weight instanceof Tensor) init.zeros_(weight);
      }
    }
  }

  override forward(x: Tensor): Tensor {
    x = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    x = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(x))));
    return this.fc.call(this.avgpool.call(x).flatten(1));
  }

  override convBnPairs(): [string, string][] {
    return [['conv1', 'bn1']];
  }
}

const DEPTHS = {
  resnet18: [BasicBlock, [2, 2, 2, 2]],
  resnet34: [BasicBlock, [3, 4, 6, 3]],
  resnet50: [Bottleneck, [3, 4, 6, 3]],
  resnet101: [Bottleneck, [3, 4, 23, 3]],
  resnet152: [Bottleneck, [3, 8, 36, 3]],
} as const satisfies Record<string, [ResNetBlock, readonly [number, number, number, number]]>;

export type ResNetName = keyof typeof DEPTHS;
export const RESNET_NAMES = Object.keys(DEPTHS) as ResNetName[];

/** A torchvision ResNet by name ('resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152'). */
export function resnet(name: ResNetName, opts: ResNetOptions = {}): ResNet {
  const spec = DEPTHS[name];
  if (spec === undefined) throw new Error(`unknown ResNet '${name}'; choose one of ${RESNET_NAMES.join(', ')}`);
  const [block, layers] = spec;
  return new ResNet(block, [...layers], opts);
}

export const resnet18 = (opts: ResNetOptions = {}): ResNet => resnet('resnet18', opts);
export const resnet34 = (opts: ResNetOptions = {}): ResNet => resnet('resnet34', opts);
export const resnet50 = (opts: ResNetOptions = {}): ResNet => resnet('resnet50', opts);
export const resnet101 = (opts: ResNetOptions = {}): ResNet => resnet('resnet101', opts);
export const resnet152 = (opts: ResNetOptions = {}): ResNet => resnet('resnet152', opts);
