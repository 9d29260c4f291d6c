// Dropout layers: active in training mode only; in eval they pass the input through.
import { Tensor, F, callOp } from '../torch/index.js';
import { Module } from './module.js';
import { pyBool, pyFloat } from './util.js';

type DropoutOptions = number | { p?: number; inplace?: boolean };

abstract class DropoutBase extends Module {
  readonly p: number;
  readonly inplace: boolean;
  /** `new Dropout(0.1)` or `new Dropout({ p: 0.1, inplace: true })`; p defaults to 0.5. */
  constructor(opts: DropoutOptions = {}) {
    super();
    const o = typeof opts === 'number' ? { p: opts } : opts;
    this.p = o.p ?? 0.5;
    this.inplace = o.inplace ?? false;
    if (!(this.p >= 0 && this.p <= 1)) throw new Error(`${this.constructor.name}: probability p must be between 0 and 1, got ${this.p}`);
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.inplace)}`;
  }
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p). */
export class Dropout extends DropoutBase {
  override forward(x: Tensor): Tensor {
    return this.inplace ? callOp('dropout_', x, this.p, this.training) : F.dropout(x, this.p, this.training);
  }
}

/** Zeroes whole channels of (N, C, H, W) with probability p and scales the rest by 1 / (1 - p). */
export class Dropout2d extends DropoutBase {
  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new Error(`Dropout2d: expected a 4D (N, C, H, W) input, got shape [${x.shape}]`);
    return this.inplace ? callOp('feature_dropout_', x, this.p, this.training) : F.dropout2d(x, this.p, this.training);
  }
}
