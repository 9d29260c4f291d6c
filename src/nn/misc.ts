// Identity and Flatten.
import { Tensor } from '../torch/index.js';
import { Module } from './module.js';

/** Returns its input unchanged (the same tensor): a placeholder, e.g. a removed classifier. */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dims startDim..endDim into one; defaults keep the batch dim: (N, C, H, W) → (N, C·H·W). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
