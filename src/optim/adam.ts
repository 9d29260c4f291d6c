// Adam (L2 weight decay added to the gradient, optional AMSGrad) and AdamW (decoupled weight
// decay): PyTorch 1.13's single-tensor updates, op for op, so trajectories match torch.optim to
// float32 rounding.
//
//   m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g²
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// AdamW first shrinks p by (1 - lr * weightDecay); AMSGrad uses max(v) over time instead of v.

import type { Tensor } from '../torch/tensor.js';
import { zerosLike } from '../torch/create.js';
import { callOp } from '../torch/dispatch.js';
import { Optimizer, type OptimizerSpec, type ParamGroup, type ParamsInput, type ParamState } from './optimizer.js';
import { bool, fail, num } from './schedulers/check.js';

export type AdamOptions = {
  lr: number;
  /** Decay rates of the first and second moments; OneCycleLR may cycle betas[0]. */
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
};

/** betas: two numbers in [0, 1). */
export function checkBetas(who: string, v: unknown): void {
  if (!Array.isArray(v) || v.length !== 2) fail(who, 'betas', v, 'an array of two numbers in [0, 1)');
  num(who, 'betas[0]', v[0], { min: 0, max: 1, maxOpen: true });
  num(who, 'betas[1]', v[1], { min: 0, max: 1, maxOpen: true });
}

const KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'] as const;

function check(o: AdamOptions, who: string): void {
  num(who, 'lr', o.lr, { min: 0 });
  checkBetas(who, o.betas);
  num(who, 'eps', o.eps, { min: 0 });
  num(who, 'weightDecay', o.weightDecay, { min: 0 });
  bool(who, 'amsgrad', o.amsgrad);
  bool(who, 'maximize', o.maximize);
}

const base = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, amsgrad: false, maximize: false };
const ADAM: OptimizerSpec<AdamOptions> = { name: 'Adam', keys: KEYS, defaults: { ...base, weightDecay: 0 }, check };
const ADAMW: OptimizerSpec<AdamOptions> = { name: 'AdamW', keys: KEYS, defaults: { ...base, weightDecay: 1e-2 }, check };

export class Adam extends Optimizer<AdamOptions> {
  /** Decoupled weight decay (AdamW) instead of L2 on the gradient. */
  protected readonly decoupled: boolean = false;

  /** Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0. (`spec` is internal, for AdamW.) */
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}, spec: OptimizerSpec<AdamOptions> = ADAM) {
    super(spec, params, options);
  }

  protected updateGroup(group: ParamGroup<AdamOptions>, params: Tensor[], grads: Tensor[], states: ParamState[]): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    params.forEach((p, i) => {
      const s = states[i]!;
      let g = maximize ? grads[i]!.neg() : grads[i]!;
      if (s.step === undefined) {
        s.step = 0;
        s.exp_avg = zerosLike(p).keep();
        s.exp_avg_sq = zerosLike(p).keep();
      }
      if (amsgrad && !s.max_exp_avg_sq) s.max_exp_avg_sq = zerosLike(p).keep();
      const step = (s.step as number) + 1;
      s.step = step;
      const expAvg = s.exp_avg as Tensor;
      const expAvgSq = s.exp_avg_sq as Tensor;

      if (this.decoupled) p.mul_(1 - lr * weightDecay);
      else if (weightDecay !== 0) g = g.add(p, weightDecay);
      expAvg.mul_(beta1).add_(g, 1 - beta1);
      expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);

      const stepSize = lr / (1 - beta1 ** step);
      const bias2Sqrt = Math.sqrt(1 - beta2 ** step);
      let second = expAvgSq;
      if (amsgrad) {
        second = s.max_exp_avg_sq as Tensor;
        callOp('maximum.out', second, expAvgSq, second);
      }
      const denom = second.sqrt().div_(bias2Sqrt).add_(eps);
      p.addcdiv_(expAvg, denom, -stepSize);
    });
  }
}

export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  /** Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 1e-2 (decoupled). */
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, options, ADAMW);
  }
}
