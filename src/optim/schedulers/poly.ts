// PolynomialLR, the segmentation "poly" policy: lr = (base - minLr) * (1 - t/totalIters)^power
// + minLr, then minLr from totalIters on. With minLr 0 this is PyTorch's PolynomialLR; minLr > 0
// is the mmsegmentation variant.

import type { OptimizerLike } from '../types.js';
import { LRScheduler } from './base.js';
import { int, known, num, perGroup } from './check.js';

export interface PolynomialLROptions {
  /** Steps until the lr reaches minLr, >= 1 (PyTorch default 5). */
  totalIters?: number;
  /** Exponent, > 0 (PyTorch default 1; DeepLab uses 0.9). */
  power?: number;
  /** Floor the lr decays to: one value or one per param group (default 0). */
  minLr?: number | number[];
}

export class PolynomialLR extends LRScheduler<Required<PolynomialLROptions>> {
  protected opts: Required<PolynomialLROptions>;

  constructor(optimizer: OptimizerLike, options: PolynomialLROptions = {}) {
    super(optimizer);
    this.opts = this.parseOptions(options);
    this.attach();
  }

  protected get kind(): string {
    return 'PolynomialLR';
  }

  protected parseOptions(options: unknown): Required<PolynomialLROptions> {
    const o = known('PolynomialLR', options, ['totalIters', 'power', 'minLr']);
    const minLr = o.minLr ?? 0;
    perGroup('PolynomialLR', 'minLr', minLr, this.groups, { min: 0 });
    return {
      totalIters: int('PolynomialLR', 'totalIters', o.totalIters ?? 5, 1),
      power: num('PolynomialLR', 'power', o.power ?? 1, { min: 0, minOpen: true }),
      minLr: Array.isArray(minLr) ? [...(minLr as number[])] : (minLr as number),
    };
  }

  protected chainLrs(): number[] {
    const { totalIters: n, power } = this.opts;
    const t = this.epoch;
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (t === 0 || t > n) return lrs;
    // The ratio of consecutive poly factors; applied to lr - minLr it gives the closed form.
    const factor = ((1 - t / n) / (1 - (t - 1) / n)) ** power;
    const mins = this.perGroup(this.opts.minLr);
    return lrs.map((lr, i) => (lr - mins[i]!) * factor + mins[i]!);
  }

  protected override startLrs(): number[] {
    const mins = this.perGroup(this.opts.minLr);
    return this.baseLrs.map((b, i) => b - mins[i]! + mins[i]!);
  }
}
