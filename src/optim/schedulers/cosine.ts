// CosineAnnealingLR: lr = etaMin + (base - etaMin) * (1 + cos(pi * t / tMax)) / 2. Past tMax it
// rises again (a cosine, not a restart), exactly like PyTorch.

import type { OptimizerLike } from '../types.js';
import { LRScheduler } from './base.js';
import { int, known, num } from './check.js';

export interface CosineAnnealingLROptions {
  /** Steps of the half period, >= 1. */
  tMax: number;
  /** Lowest lr, reached at tMax (default 0). */
  etaMin?: number;
}

export class CosineAnnealingLR extends LRScheduler<Required<CosineAnnealingLROptions>> {
  protected opts: Required<CosineAnnealingLROptions>;

  constructor(optimizer: OptimizerLike, options: CosineAnnealingLROptions) {
    super(optimizer);
    this.opts = this.parseOptions(options);
    this.attach();
  }

  protected get kind(): string {
    return 'CosineAnnealingLR';
  }

  protected parseOptions(options: unknown): Required<CosineAnnealingLROptions> {
    const o = known('CosineAnnealingLR', options, ['tMax', 'etaMin']);
    return { tMax: int('CosineAnnealingLR', 'tMax', o.tMax, 1), etaMin: num('CosineAnnealingLR', 'etaMin', o.etaMin ?? 0, { min: 0 }) };
  }

  protected chainLrs(): number[] {
    const { tMax: T, etaMin: eta } = this.opts;
    const t = this.epoch;
    const groups = this.optimizer.paramGroups;
    if (t === 0) return groups.map((g) => g.lr);
    // At t = tMax + 1 (mod 2 tMax) the ratio below would divide by zero; PyTorch adds the
    // step instead.
    if ((t - 1 - T) % (2 * T) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i]! - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    const ratio = (1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T));
    return groups.map((g) => ratio * (g.lr - eta) + eta);
  }

  protected override startLrs(): number[] {
    const eta = this.opts.etaMin;
    return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((Math.PI * 0) / this.opts.tMax))) / 2);
  }
}
