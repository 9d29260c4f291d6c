// RAdam (Liu et al. 2019, "On the Variance of the Adaptive Learning Rate and Beyond"): Adam whose
// adaptive step is switched on, and rectified, only once the variance estimate is reliable
// (rho_t > 5); before that it takes plain momentum steps. PyTorch 1.13's single-tensor update,
// op for op (1.13's RAdam has no maximize and no decoupled decay).

import type { Tensor } from '../torch/tensor.js';
import { zerosLike } from '../torch/create.js';
import { Optimizer, type OptimizerSpec, type ParamGroup, type ParamsInput, type ParamState } from './optimizer.js';
import { checkBetas } from './adam.js';
import { num } from './schedulers/check.js';

export type RAdamOptions = {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
};

const SPEC: OptimizerSpec<RAdamOptions> = {
  name: 'RAdam',
  keys: ['lr', 'betas', 'eps', 'weightDecay'],
  defaults: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 },
  check(o, who) {
    num(who, 'lr', o.lr, { min: 0 });
    checkBetas(who, o.betas);
    num(who, 'eps', o.eps, { min: 0 });
    num(who, 'weightDecay', o.weightDecay, { min: 0 });
  },
};

export class RAdam extends Optimizer<RAdamOptions> {
  /** Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0 (L2). */
  constructor(params: ParamsInput<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    super(SPEC, params, options);
  }

  protected updateGroup(group: ParamGroup<RAdamOptions>, params: Tensor[], grads: Tensor[], states: ParamState[]): void {
    const { lr, eps, weightDecay } = group;
    const [beta1, beta2] = group.betas;
    // maximum length of the approximated simple moving average
    const rhoInf = 2 / (1 - beta2) - 1;
    params.forEach((p, i) => {
      const s = states[i]!;
      if (s.step === undefined) {
        s.step = 0;
        s.exp_avg = zerosLike(p).keep();
        s.exp_avg_sq = zerosLike(p).keep();
      }
      const step = (s.step as number) + 1;
      s.step = step;
      const expAvg = s.exp_avg as Tensor;
      const expAvgSq = s.exp_avg_sq as Tensor;
      const bias1 = 1 - beta1 ** step;
      const bias2 = 1 - beta2 ** step;

      let g = grads[i]!;
      if (weightDecay !== 0) g = g.add(p, weightDecay);
      expAvg.mul_(beta1).add_(g, 1 - beta1);
      expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);

      const corrected = expAvg.div(bias1);
      const rhoT = rhoInf - (2 * step * beta2 ** step) / bias2;
      if (rhoT > 5) {
        const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
        // PyTorch writes sqrt(bias2) / (...), which Python evaluates as reciprocal() * scalar
        const adaptiveLr = expAvgSq.sqrt().add_(eps).reciprocal().mul_(Math.sqrt(bias2));
        p.add_(corrected.mul(lr).mul_(adaptiveLr).mul_(rect), -1);
      } else {
        p.add_(corrected.mul(lr), -1);
      }
    });
  }
}
