// SGD with momentum, dampening, Nesterov momentum, L2 weight decay and maximize: PyTorch 1.13's
// single-tensor update, op for op, so trajectories match torch.optim.SGD to float32 rounding.
//
//   d = ±grad + weightDecay * p
//   buf = d (first step) | momentum * buf + (1 - dampening) * d
//   p -= lr * (nesterov ? d + momentum * buf : buf)

import type { Tensor } from '../torch/tensor.js';
import { Optimizer, type OptimizerSpec, type ParamGroup, type ParamsInput, type ParamState } from './optimizer.js';
import { bool, num } from './schedulers/check.js';

export type SGDOptions = {
  lr: number;
  /** Always present (0 without momentum), so OneCycleLR can cycle it. */
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
};

const SPEC: OptimizerSpec<SGDOptions> = {
  name: 'SGD',
  keys: ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'],
  defaults: { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
  check(o, who) {
    num(who, 'lr', o.lr, { min: 0 });
    num(who, 'momentum', o.momentum, { min: 0 });
    num(who, 'dampening', o.dampening);
    num(who, 'weightDecay', o.weightDecay, { min: 0 });
    bool(who, 'nesterov', o.nesterov);
    bool(who, 'maximize', o.maximize);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(`${who}: nesterov needs momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}`);
    }
  },
};

export class SGD extends Optimizer<SGDOptions> {
  /** `lr` is required (in the options or in every group); the rest default to 0 / false. */
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(SPEC, params, options);
  }

  protected updateGroup(group: ParamGroup<SGDOptions>, params: Tensor[], grads: Tensor[], states: ParamState[]): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    params.forEach((p, i) => {
      const s = states[i]!;
      let d = maximize ? grads[i]!.neg() : grads[i]!;
      if (weightDecay !== 0) d = d.add(p, weightDecay);
      if (momentum !== 0) {
        let buf = s.momentum_buffer as Tensor | null | undefined;
        if (!buf) s.momentum_buffer = buf = d.clone().keep();
        else buf.mul_(momentum).add_(d, 1 - dampening);
        d = nesterov ? d.add(buf, momentum) : buf;
      } else if (!('momentum_buffer' in s)) {
        s.momentum_buffer = null; // PyTorch records the absent buffer too
      }
      p.add_(d, -lr);
    });
  }
}
