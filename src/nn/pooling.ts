// Pooling layers over (N, C, H, W).
import { Tensor, F, callOp } from '../torch/index.js';
import { Module } from './module.js';
import { pair, pyBool, pyIntOrTuple, type Pair } from './util.js';

export class MaxPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;

  /** stride defaults to kernelSize. */
  constructor(kernelSize: Pair, opts: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.ceilMode = opts.ceilMode ?? false;
  }

  override forward(x: Tensor): Tensor {
    return F.maxPool2d(x, pair(this.kernelSize), { stride: pair(this.stride), padding: pair(this.padding), dilation: pair(this.dilation), ceilMode: this.ceilMode });
  }

  override extraRepr(): string {
    const p = pyIntOrTuple;
    return `kernel_size=${p(this.kernelSize)}, stride=${p(this.stride)}, padding=${p(this.padding)}, dilation=${p(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

export class AvgPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | undefined;

  /** stride defaults to kernelSize; countIncludePad (default true) counts padded zeros in the average. */
  constructor(kernelSize: Pair, opts: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride;
  }

  override forward(x: Tensor): Tensor {
    return callOp('avg_pool2d', x, pair(this.kernelSize), pair(this.stride), pair(this.padding), this.ceilMode, this.countIncludePad, this.divisorOverride);
  }

  override extraRepr(): string {
    return `kernel_size=${pyIntOrTuple(this.kernelSize)}, stride=${pyIntOrTuple(this.stride)}, padding=${pyIntOrTuple(this.padding)}`;
  }
}

/** Averages into a fixed output size; a null side keeps the input's size there. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | [number | null, number | null]) {
    super();
  }

  override forward(x: Tensor): Tensor {
    const o = this.outputSize;
    const size: [number, number] = typeof o === 'number' ? [o, o] : [o[0] ?? x.size(-2), o[1] ?? x.size(-1)];
    return F.adaptiveAvgPool2d(x, size);
  }

  override extraRepr(): string {
    const o = this.outputSize;
    return `output_size=${typeof o === 'number' ? o : `(${o.map((v) => (v === null ? 'None' : v)).join(', ')})`}`;
  }
}
