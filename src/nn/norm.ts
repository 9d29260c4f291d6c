// Normalisation layers: BatchNorm1d/2d (running statistics as buffers), GroupNorm, LayerNorm.
import { Tensor, F, empty, ones, zeros, type DType } from '../torch/index.js';
import { Module } from './module.js';
import { parameter } from './parameter.js';
import { ones_, zeros_ } from './init.js';
import { pyBool, pyFloat, pyTuple } from './util.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch in the running averages; null: cumulative average over all batches. Default 0.1. */
  momentum?: number | null;
  /** Learnable scale (weight) and shift (bias). Default true. */
  affine?: boolean;
  /** Keep running_mean / running_var / num_batches_tracked buffers (used in eval). Default true. */
  trackRunningStats?: boolean;
  dtype?: DType;
  device?: string;
}

/** The affine `weight` (ones) and `bias` (zeros) of `shape`, or both declared empty without `affine`. */
function registerAffine(m: Module, affine: boolean, shape: number[], t: { dtype?: DType; device?: string }): void {
  m.registerParameter('weight', affine ? ones_(parameter(empty(shape, t))) : undefined);
  m.registerParameter('bias', affine ? zeros_(parameter(empty(shape, t))) : undefined);
}

abstract class BatchNormBase extends Module {
  declare weight: Tensor | undefined;
  declare bias: Tensor | undefined;
  declare running_mean: Tensor | undefined;
  declare running_var: Tensor | undefined;
  declare num_batches_tracked: Tensor | undefined;
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true } = opts;
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    const t = { dtype: opts.dtype, device: opts.device };
    registerAffine(this, affine, [numFeatures], t);
    this.registerBuffer('running_mean', trackRunningStats ? zeros([numFeatures], t) : undefined);
    this.registerBuffer('running_var', trackRunningStats ? ones([numFeatures], t) : undefined);
    this.registerBuffer('num_batches_tracked', trackRunningStats ? zeros([], { dtype: 'int64', device: opts.device }) : undefined);
  }

  protected abstract checkInput(x: Tensor): void;

  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked !== undefined) {
      this.num_batches_tracked.add_(1);
      factor = this.momentum === null ? 1 / this.num_batches_tracked.item() : this.momentum;
    }
    // batch statistics in training, and in eval when there are no running statistics
    const useBatchStats = this.training || (this.running_mean === undefined && this.running_var === undefined);
    if (useBatchStats) checkBatchSize(x.shape);
    // running statistics are read in eval and updated in training only when tracked
    const passStats = !this.training || this.trackRunningStats;
    return F.batchNorm(
      x,
      passStats ? this.running_mean : undefined,
      passStats ? this.running_var : undefined,
      this.weight,
      this.bias,
      useBatchStats,
      factor,
      this.eps,
    );
  }

  // Checkpoints from before PyTorch 0.4.1 have no num_batches_tracked; PyTorch fills in 0.
  protected override stateDefaults(): Record<string, number> {
    return this.trackRunningStats ? { num_batches_tracked: 0 } : {};
  }

  override extraRepr(): string {
    const m = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${m}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

// One value per channel gives a variance of 0 and NaN outputs: PyTorch refuses it, and so do we
// (a batch of 1 reaching a 1x1 map, as the ASPP pooling branch does).
function checkBatchSize(shape: number[]): void {
  const values = shape[0] * shape.slice(2).reduce((a, b) => a * b, 1);
  if (values === 1) {
    throw new Error(
      `Expected more than 1 value per channel when training, got input size [${shape.join(', ')}]: ` +
        'use a batch of 2 or more, or put the model (or this BatchNorm) in eval mode',
    );
  }
}

/** Batch normalisation over (N, C, H, W), per channel. */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new Error(`BatchNorm2d: expected 4D input (N, C, H, W), got ${x.ndim}D input of shape [${x.shape}]`);
  }
}

/** Batch normalisation over (N, C) or (N, C, L), per channel. */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new Error(`BatchNorm1d: expected 2D or 3D input, got ${x.ndim}D input of shape [${x.shape}]`);
  }
}

/** Normalises groups of channels of (N, C, ...) per sample; affine per channel. */
export class GroupNorm extends Module {
  declare weight: Tensor | undefined;
  declare bias: Tensor | undefined;
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;

  constructor(numGroups: number, numChannels: number, opts: { eps?: number; affine?: boolean; dtype?: DType; device?: string } = {}) {
    super();
    const { eps = 1e-5, affine = true } = opts;
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = eps;
    this.affine = affine;
    const t = { dtype: opts.dtype, device: opts.device };
    registerAffine(this, affine, [numChannels], t);
  }

  override forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

/** Normalises over the trailing `normalizedShape` dimensions; affine per element of that shape. */
export class LayerNorm extends Module {
  declare weight: Tensor | undefined;
  declare bias: Tensor | undefined;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | number[], opts: { eps?: number; elementwiseAffine?: boolean; dtype?: DType; device?: string } = {}) {
    super();
    const { eps = 1e-5, elementwiseAffine = true } = opts;
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    const t = { dtype: opts.dtype, device: opts.device };
    registerAffine(this, elementwiseAffine, this.normalizedShape, t);
  }

  override forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

/**
 * BatchNorm2d with everything fixed, as torchvision.ops.FrozenBatchNorm2d (detection backbones:
 * batches of one or two images give useless batch statistics). weight, bias, running_mean and
 * running_var are buffers, not parameters, so no optimizer trains them and train() changes
 * nothing; the state-dict keys are BatchNorm2d's without num_batches_tracked, which loading
 * drops as torchvision does, so a BatchNorm2d checkpoint (ImageNet ResNet weights) loads as it is.
 */
export class FrozenBatchNorm2d extends Module {
  declare weight: Tensor;
  declare bias: Tensor;
  declare running_mean: Tensor;
  declare running_var: Tensor;
  readonly numFeatures: number;
  /** Writable: torchvision's overwrite_eps sets 0 for weights trained before 0.5 (Mask R-CNN v1 COCO). */
  eps: number;

  constructor(numFeatures: number, opts: { eps?: number; dtype?: DType; device?: string } = {}) {
    super();
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5; // torchvision 0.14's default (0 before 0.5)
    const t = { dtype: opts.dtype, device: opts.device };
    this.registerBuffer('weight', ones([numFeatures], t));
    this.registerBuffer('bias', zeros([numFeatures], t));
    this.registerBuffer('running_mean', zeros([numFeatures], t));
    this.registerBuffer('running_var', ones([numFeatures], t));
  }

  /** y = x * scale + shift per channel, scale = weight / sqrt(running_var + eps), in torchvision's op order. */
  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new Error(`FrozenBatchNorm2d: expected 4D input (N, C, H, W), got ${x.ndim}D input of shape [${x.shape}]`);
    const c = (t: Tensor): Tensor => t.reshape(1, -1, 1, 1);
    const scale = c(this.weight).mul(c(this.running_var).add(this.eps).rsqrt());
    const shift = c(this.bias).sub(c(this.running_mean).mul(scale));
    return x.mul(scale).add(shift);
  }

  protected override upgradeStateDict(state: Map<string, unknown>, prefix: string): void {
    state.delete(`${prefix}num_batches_tracked`);
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}`;
  }
}
