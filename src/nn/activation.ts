// Activation layers. `inplace` (where PyTorch has it) overwrites the input and returns it.
import { Tensor, F, callOp } from '../torch/index.js';
import { Module } from './module.js';
import { pyFloat } from './util.js';

export class ReLU extends Module {
  constructor(readonly opts: { inplace?: boolean } = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return this.opts.inplace ? callOp('relu_', x) : F.relu(x);
  }
  override extraRepr(): string {
    return this.opts.inplace ? 'inplace=True' : '';
  }
}

/** min(max(x, 0), 6) */
export class ReLU6 extends Module {
  constructor(readonly opts: { inplace?: boolean } = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return this.opts.inplace ? callOp('hardtanh_', x, 0, 6) : F.relu6(x);
  }
  override extraRepr(): string {
    return this.opts.inplace ? 'inplace=True' : '';
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  /** `new LeakyReLU(0.2)` or `new LeakyReLU({ negativeSlope: 0.2, inplace: true })`; the slope defaults to 0.01. */
  constructor(opts: number | { negativeSlope?: number; inplace?: boolean } = {}) {
    super();
    const o = typeof opts === 'number' ? { negativeSlope: opts } : opts;
    this.negativeSlope = o.negativeSlope ?? 0.01;
    this.inplace = o.inplace ?? false;
  }
  override forward(x: Tensor): Tensor {
    return this.inplace ? callOp('leaky_relu_', x, this.negativeSlope) : F.leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

/** GELU, exact ('none', the default) or with the tanh approximation. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = opts.approximate ?? 'none';
  }
  override forward(x: Tensor): Tensor {
    return F.gelu(x, this.approximate);
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** x · sigmoid(x) (swish). */
export class SiLU extends Module {
  constructor(readonly opts: { inplace?: boolean } = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return this.opts.inplace ? callOp('silu_', x) : F.silu(x);
  }
  override extraRepr(): string {
    return this.opts.inplace ? 'inplace=True' : '';
  }
}

/** x · relu6(x + 3) / 6 (MobileNetV3). */
export class Hardswish extends Module {
  constructor(readonly opts: { inplace?: boolean } = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return this.opts.inplace ? callOp('hardswish_', x) : F.hardswish(x);
  }
}

/** relu6(x + 3) / 6 (MobileNetV3's squeeze-excitation gate). */
export class Hardsigmoid extends Module {
  constructor(readonly opts: { inplace?: boolean } = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return this.opts.inplace ? callOp('hardsigmoid_', x) : F.hardsigmoid(x);
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

/** Softmax along `dim` (no default: give the class dimension, 1 for (N, C, H, W)). */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
