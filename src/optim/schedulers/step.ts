// Step decays: multiply the lr by gamma every `stepSize` steps, or at given milestones.

import type { OptimizerLike } from '../types.js';
import { LRScheduler } from './base.js';
import { int, known, num } from './check.js';

export interface StepLROptions {
  /** Steps between two decays, >= 1. */
  stepSize: number;
  /** Factor applied at each decay (PyTorch default 0.1). */
  gamma?: number;
}

export class StepLR extends LRScheduler<Required<StepLROptions>> {
  protected opts: Required<StepLROptions>;

  constructor(optimizer: OptimizerLike, options: StepLROptions) {
    super(optimizer);
    this.opts = this.parseOptions(options);
    this.attach();
  }

  protected get kind(): string {
    return 'StepLR';
  }

  protected parseOptions(options: unknown): Required<StepLROptions> {
    const o = known('StepLR', options, ['stepSize', 'gamma']);
    return { stepSize: int('StepLR', 'stepSize', o.stepSize, 1), gamma: num('StepLR', 'gamma', o.gamma ?? 0.1, { min: 0, minOpen: true }) };
  }

  protected chainLrs(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (this.epoch === 0 || this.epoch % this.opts.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.opts.gamma);
  }
}

export interface MultiStepLROptions {
  /** Steps at which the lr is multiplied by gamma: increasing integers >= 1. */
  milestones: number[];
  gamma?: number;
}

export class MultiStepLR extends LRScheduler<Required<MultiStepLROptions>> {
  protected opts: Required<MultiStepLROptions>;

  constructor(optimizer: OptimizerLike, options: MultiStepLROptions) {
    super(optimizer);
    this.opts = this.parseOptions(options);
    this.attach();
  }

  protected get kind(): string {
    return 'MultiStepLR';
  }

  protected parseOptions(options: unknown): Required<MultiStepLROptions> {
    const o = known('MultiStepLR', options, ['milestones', 'gamma']);
    const ms = o.milestones;
    const ok = Array.isArray(ms) && ms.every((m, i) => Number.isInteger(m) && m >= 1 && (i === 0 || m > ms[i - 1]));
    if (!ok) throw new Error(`MultiStepLR: option milestones must be an array of strictly increasing integers >= 1, got ${JSON.stringify(ms)}`);
    return { milestones: [...(ms as number[])], gamma: num('MultiStepLR', 'gamma', o.gamma ?? 0.1, { min: 0, minOpen: true }) };
  }

  protected chainLrs(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (!this.opts.milestones.includes(this.epoch)) return lrs;
    return lrs.map((lr) => lr * this.opts.gamma);
  }
}
