// Two building blocks torchvision keeps in torchvision.ops and its backbones share:
// Conv2dNormActivation (conv → norm → activation as one Sequential: keys '0', '1') and
// SqueezeExcitation (channel gating by a pooled bottleneck: keys fc1, fc2).
import { Tensor } from '../torch/index.js';
import { Module } from './module.js';
import { Sequential } from './containers.js';
import { Conv2d } from './conv.js';
import { BatchNorm2d } from './norm.js';
import { AdaptiveAvgPool2d } from './pooling.js';
import { ReLU, Sigmoid } from './activation.js';

/** Makes a normalisation layer for `channels` (e.g. BatchNorm2d with eps 0.001, momentum 0.01). */
export type NormFactory = (channels: number) => Module;
/** Makes an activation layer; `inplace` where the layer has it. */
export type ActivationFactory = (opts: { inplace?: boolean }) => Module;

export const batchNorm = (opts: { eps?: number; momentum?: number } = {}): NormFactory => (c) => new BatchNorm2d(c, opts);

export interface Conv2dNormActivationOptions {
  stride?: number;
  /** Default: (kernelSize - 1) / 2 * dilation, which keeps the size at stride 1. */
  padding?: number;
  groups?: number;
  dilation?: number;
  /** Default BatchNorm2d; null for none (then the conv gets a bias). */
  norm?: NormFactory | null;
  /** Default ReLU; null for none. */
  activation?: ActivationFactory | null;
  /** Default: a bias only when there is no norm layer. */
  bias?: boolean;
}

/** conv → norm → activation, named '0', '1', '2' as torchvision's Conv2dNormActivation. */
export class Conv2dNormActivation extends Sequential {
  readonly outChannels: number;

  constructor(inChannels: number, outChannels: number, kernelSize = 3, opts: Conv2dNormActivationOptions = {}) {
    const { stride = 1, groups = 1, dilation = 1 } = opts;
    const norm = opts.norm === undefined ? batchNorm() : opts.norm;
    const activation = opts.activation === undefined ? (o: { inplace?: boolean }) => new ReLU(o) : opts.activation;
    const padding = opts.padding ?? Math.floor((kernelSize - 1) / 2) * dilation;
    const layers: Module[] = [new Conv2d(inChannels, outChannels, kernelSize, { stride, padding, dilation, groups, bias: opts.bias ?? norm === null })];
    if (norm !== null) layers.push(norm(outChannels));
    if (activation !== null) layers.push(activation({ inplace: true }));
    super(...layers);
    this.outChannels = outChannels;
  }
}

/** Squeeze-and-excitation (Hu et al. 2018): x · gate(fc2(act(fc1(avgpool(x))))). */
export class SqueezeExcitation extends Module {
  declare avgpool: AdaptiveAvgPool2d;
  declare fc1: Conv2d;
  declare fc2: Conv2d;
  declare activation: Module;
  declare scale_activation: Module;

  constructor(inputChannels: number, squeezeChannels: number, opts: { activation?: () => Module; scaleActivation?: () => Module } = {}) {
    super();
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.fc1 = new Conv2d(inputChannels, squeezeChannels, 1);
    this.fc2 = new Conv2d(squeezeChannels, inputChannels, 1);
    this.activation = (opts.activation ?? (() => new ReLU()))();
    this.scale_activation = (opts.scaleActivation ?? (() => new Sigmoid()))();
  }

  override forward(x: Tensor): Tensor {
    const scale = this.scale_activation.call(this.fc2.call(this.activation.call(this.fc1.call(this.avgpool.call(x)))));
    return scale.mul(x);
  }
}
