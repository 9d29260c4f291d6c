// Linear: y = x Wᵀ + b over the last dimension, with PyTorch's default initialisation.
import { Tensor, F, empty, type DType } from '../torch/index.js';
import { Module } from './module.js';
import { parameter } from './parameter.js';
import { fanInAndOut, kaimingUniform_, uniform_ } from './init.js';
import { pyBool } from './util.js';

export class Linear extends Module {
  declare weight: Tensor;
  declare bias: Tensor | undefined;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: { bias?: boolean; dtype?: DType; device?: string } = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const t = { dtype: opts.dtype, device: opts.device };
    this.weight = parameter(empty([outFeatures, inFeatures], t));
    this.registerParameter('bias', opts.bias ?? true ? empty([outFeatures], t) : undefined);
    // PyTorch's Linear.reset_parameters
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== undefined) {
      const { fanIn } = fanInAndOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  /** (..., in) → (..., out) */
  override forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== undefined)}`;
  }
}
