// LinearLR: scales the lr by a factor that moves linearly from startFactor to endFactor over
// totalIters steps, then holds. Also the warm-up half of WarmupLR.

import type { OptimizerLike } from '../types.js';
import { LRScheduler } from './base.js';
import { int, known, num } from './check.js';

export interface LinearLROptions {
  /** Factor at step 0, in (0, 1] (PyTorch default 1/3). */
  startFactor?: number;
  /** Factor from step totalIters on, in [0, 1] (default 1). */
  endFactor?: number;
  /** Steps the change takes, >= 1 (default 5). */
  totalIters?: number;
}

export class LinearLR extends LRScheduler<Required<LinearLROptions>> {
  protected opts: Required<LinearLROptions>;

  constructor(optimizer: OptimizerLike, options: LinearLROptions = {}) {
    super(optimizer);
    this.opts = this.parseOptions(options);
    this.attach();
  }

  protected get kind(): string {
    return 'LinearLR';
  }

  protected parseOptions(options: unknown): Required<LinearLROptions> {
    const o = known('LinearLR', options, ['startFactor', 'endFactor', 'totalIters']);
    return {
      // 0 would divide by zero in the chained update (PyTorch >= 2.1 rejects it too).
      startFactor: num('LinearLR', 'startFactor', o.startFactor ?? 1 / 3, { min: 0, minOpen: true, max: 1 }),
      endFactor: num('LinearLR', 'endFactor', o.endFactor ?? 1, { min: 0, max: 1 }),
      totalIters: int('LinearLR', 'totalIters', o.totalIters ?? 5, 1),
    };
  }

  protected chainLrs(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this.opts;
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (this.epoch === 0) return lrs.map((lr) => lr * s);
    if (this.epoch > n) return lrs;
    return lrs.map((lr) => lr * (1 + (e - s) / (n * s + (this.epoch - 1) * (e - s))));
  }

  protected override startLrs(): number[] {
    return this.baseLrs.map((b) => b * this.opts.startFactor);
  }
}
