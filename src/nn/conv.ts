// Conv2d and ConvTranspose2d with PyTorch's options, weight layout and default initialisation.
import { Tensor, F, cat, empty, tidy, type DType } from '../torch/index.js';
import { Module } from './module.js';
import { parameter } from './parameter.js';
import { fanInAndOut, kaimingUniform_, uniform_ } from './init.js';
import { pair, pyBool, pyTuple, type Pair } from './util.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface Conv2dOptions {
  stride?: Pair;
  /** An int or [h, w] on each side, 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
  dtype?: DType;
  device?: string;
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  bias?: boolean;
  dilation?: Pair;
  dtype?: DType;
  device?: string;
}

function checkChannels(layer: string, inChannels: number, outChannels: number, groups: number): void {
  if (!Number.isInteger(groups) || groups <= 0) throw new Error(`${layer}: groups must be a positive integer, got ${groups}`);
  if (inChannels % groups !== 0) throw new Error(`${layer}: in_channels ${inChannels} must be divisible by groups ${groups}`);
  if (outChannels % groups !== 0) throw new Error(`${layer}: out_channels ${outChannels} must be divisible by groups ${groups}`);
}

// PyTorch's _ConvNd.reset_parameters: kaiming_uniform_(a=√5) then bias ~ U(±1/√fan_in),
// fan_in taken from the weight's dim 1 (in/groups for Conv2d, out/groups for ConvTranspose2d).
function resetConv(weight: Tensor, bias: Tensor | undefined): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== undefined) {
    const { fanIn } = fanInAndOut(weight);
    if (fanIn !== 0) {
      const bound = 1 / Math.sqrt(fanIn);
      uniform_(bias, -bound, bound);
    }
  }
}

export class Conv2d extends Module {
  declare weight: Tensor;
  declare bias: Tensor | undefined;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  /** [left, right, top, bottom] for F.pad when paddingMode is not 'zeros' */
  private readonly padLRTB: number[];

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super();
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, paddingMode = 'zeros' } = opts;
    checkChannels('Conv2d', inChannels, outChannels, groups);
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(paddingMode)) {
      throw new Error(`Conv2d: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got '${paddingMode}'`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(stride);
    this.dilation = pair(dilation);
    this.groups = groups;
    this.paddingMode = paddingMode;
    if (typeof padding === 'string') {
      if (padding !== 'same' && padding !== 'valid') throw new Error(`Conv2d: padding '${padding}' is not one of 'same', 'valid' or a number`);
      if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
        throw new Error(`Conv2d: padding 'same' needs stride 1, got [${this.stride}]; give the padding as numbers instead`);
      }
      this.padding = padding;
      // 'same': total d·(k-1) per dim, the extra pixel of an odd total on the right/bottom
      const total = padding === 'same' ? [0, 1].map((i) => this.dilation[i] * (this.kernelSize[i] - 1)) : [0, 0];
      const lo = total.map((t) => Math.floor(t / 2));
      this.padLRTB = [lo[1], total[1] - lo[1], lo[0], total[0] - lo[0]];
    } else {
      this.padding = pair(padding);
      this.padLRTB = [this.padding[1], this.padding[1], this.padding[0], this.padding[0]];
    }
    const [kh, kw] = this.kernelSize;
    const t = { dtype: opts.dtype, device: opts.device };
    this.weight = parameter(empty([outChannels, inChannels / groups, kh, kw], t));
    this.registerParameter('bias', bias ? empty([outChannels], t) : undefined);
    resetConv(this.weight, this.bias);
  }

  /** (N, Cin, H, W) → (N, Cout, H', W') */
  override forward(x: Tensor): Tensor {
    const conv = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === 'zeros') return F.conv2d(x, this.weight, this.bias, { ...conv, padding: this.padding });
    const padded = F.pad(x, this.padLRTB, this.paddingMode);
    try {
      return F.conv2d(padded, this.weight, this.bias, { ...conv, padding: 0 });
    } finally {
      padded.dispose();
    }
  }

  /**
   * The forward of `cat(inputs, 1)` without building the concatenation. A convolution is linear
   * in its input channels, so it equals the sum of each part convolved with its slice of the
   * weight: same result and parameters, one full-size copy fewer (a copy autograd would keep
   * for backward too). For a UNet decoder's `cat([skip, up])` or an ASPP projection.
   */
  callOnConcat(inputs: Tensor[]): Tensor {
    const total = inputs.reduce((n, t) => n + t.shape[1], 0);
    if (total !== this.inChannels) {
      throw new Error(`Conv2d.callOnConcat: the parts have ${inputs.map((t) => t.shape[1]).join(' + ')} = ${total} channels, the conv takes ${this.inChannels}`);
    }
    if (this.groups !== 1 || this.paddingMode !== 'zeros') return tidy(() => this.forward(cat(inputs, 1)));
    return tidy(() => {
      const conv = { stride: this.stride, padding: this.padding, dilation: this.dilation };
      let start = 0;
      let y: Tensor | undefined;
      for (const part of inputs) {
        const c = part.shape[1];
        const w = this.weight.narrow(1, start, c);
        start += c;
        if (y === undefined) y = F.conv2d(part, w, this.bias, conv);
        else y.add_(F.conv2d(part, w, undefined, conv));
      }
      return y!;
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === undefined) s += `, bias=${pyBool(false)}`;
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

export class ConvTranspose2d extends Module {
  declare weight: Tensor;
  declare bias: Tensor | undefined;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvTranspose2dOptions = {}) {
    super();
    const { stride = 1, padding = 0, outputPadding = 0, groups = 1, bias = true, dilation = 1 } = opts;
    checkChannels('ConvTranspose2d', inChannels, outChannels, groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(stride);
    this.padding = pair(padding);
    this.outputPadding = pair(outputPadding);
    this.dilation = pair(dilation);
    this.groups = groups;
    for (let i = 0; i < 2; i++) {
      if (this.outputPadding[i] >= Math.max(this.stride[i], this.dilation[i])) {
        throw new Error(`ConvTranspose2d: outputPadding [${this.outputPadding}] must be smaller than stride [${this.stride}] or dilation [${this.dilation}]`);
      }
    }
    const [kh, kw] = this.kernelSize;
    const t = { dtype: opts.dtype, device: opts.device };
    // weight layout of a transposed conv: (in, out / groups, kh, kw)
    this.weight = parameter(empty([inChannels, outChannels / groups, kh, kw], t));
    this.registerParameter('bias', bias ? empty([outChannels], t) : undefined);
    resetConv(this.weight, this.bias);
  }

  /**
   * (N, Cin, H, W) → (N, Cout, H', W'). `outputSize` ([H', W'] or the full shape) picks among the
   * sizes a strided transposed conv can produce, as PyTorch's output_size argument does.
   */
  override forward(x: Tensor, outputSize?: number[]): Tensor {
    return F.convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: outputSize === undefined ? this.outputPadding : this.outputPaddingFor(x, outputSize),
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  private outputPaddingFor(x: Tensor, outputSize: number[]): [number, number] {
    const size = outputSize.length === x.ndim ? outputSize.slice(-2) : outputSize;
    if (size.length !== 2) throw new Error(`ConvTranspose2d: outputSize must have 2 or ${x.ndim} elements, got [${outputSize}]`);
    const inSize = x.shape.slice(-2);
    const out: number[] = [];
    for (let d = 0; d < 2; d++) {
      const min = (inSize[d] - 1) * this.stride[d] - 2 * this.padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1;
      const max = min + this.stride[d] - 1;
      if (size[d] < min || size[d] > max) {
        throw new Error(`ConvTranspose2d: requested output size [${size}] is not reachable from input [${inSize}]; dim ${d} must be in ${min}..${max}`);
      }
      out.push(size[d] - min);
    }
    return [out[0], out[1]];
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${pyTuple(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === undefined) s += ', bias=False';
    return s;
  }
}
