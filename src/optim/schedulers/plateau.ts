// ReduceLROnPlateau: multiplies the lr by `factor` once a watched metric has not improved for
// more than `patience` steps, then waits `cooldown` steps. Same rules as PyTorch.

import type { OptimizerLike } from '../types.js';
import { checkOptimizer, checkState, type Scheduler, type SchedulerState } from './base.js';
import { choice, groupNumbers, int, known, num, perGroup } from './check.js';

export interface ReduceLROnPlateauOptions {
  /** 'min': lower is better (a loss); 'max': higher is better (mIoU). Default 'min'. */
  mode?: 'min' | 'max';
  /** New lr = lr * factor, factor in (0, 1) (default 0.1). */
  factor?: number;
  /** Steps without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel': relative to the best value; 'abs': absolute (default 'rel'). */
  thresholdMode?: 'rel' | 'abs';
  /** Steps after a reduction during which bad steps are not counted (default 0). */
  cooldown?: number;
  /** Lower bound on the lr: one value or one per param group (default 0). */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

const WHO = 'ReduceLROnPlateau';
const KEYS = ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'] as const;
type Checked = Required<ReduceLROnPlateauOptions>;

// JSON has no Infinity: the "nothing seen yet" best value is saved as a string.
const encode = (x: number): number | string => (Number.isFinite(x) ? x : String(x));
function decode(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') return Number(v);
  throw new Error(`${WHO}.loadStateDict: best must be a number, "Infinity", "-Infinity" or "NaN", got ${JSON.stringify(v)}`);
}

export class ReduceLROnPlateau implements Scheduler {
  readonly optimizer: OptimizerLike;
  private opts: Checked;
  private best: number;
  private numBadEpochs = 0;
  private cooldownCounter = 0;
  private epoch = 0;
  private lastLr: number[];

  constructor(optimizer: OptimizerLike, options: ReduceLROnPlateauOptions = {}) {
    checkOptimizer(WHO, optimizer);
    this.optimizer = optimizer;
    this.opts = this.parse(options);
    this.best = this.worst();
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private parse(options: unknown): Checked {
    const o = known(WHO, options, KEYS);
    const minLr = o.minLr ?? 0;
    perGroup(WHO, 'minLr', minLr, this.optimizer.paramGroups.length, { min: 0 });
    return {
      mode: choice(WHO, 'mode', o.mode ?? 'min', ['min', 'max'] as const),
      factor: num(WHO, 'factor', o.factor ?? 0.1, { min: 0, max: 1, minOpen: true, maxOpen: true }),
      patience: int(WHO, 'patience', o.patience ?? 10, 0),
      threshold: num(WHO, 'threshold', o.threshold ?? 1e-4, { min: 0 }),
      thresholdMode: choice(WHO, 'thresholdMode', o.thresholdMode ?? 'rel', ['rel', 'abs'] as const),
      cooldown: int(WHO, 'cooldown', o.cooldown ?? 0, 0),
      minLr: Array.isArray(minLr) ? [...(minLr as number[])] : (minLr as number),
      eps: num(WHO, 'eps', o.eps ?? 1e-8, { min: 0 }),
    };
  }

  private worst(): number {
    return this.opts.mode === 'min' ? Infinity : -Infinity;
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  private isBetter(a: number, best: number): boolean {
    const { mode, threshold, thresholdMode } = this.opts;
    if (mode === 'min') return thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  /** Records this step's metric (e.g. a validation loss) and reduces the lr if it has stalled. */
  step(metric: number): void {
    if (typeof metric !== 'number') {
      throw new Error(`${WHO}.step: metric must be a number, got ${typeof metric}; pass a plain number (read a tensor out first)`);
    }
    this.epoch += 1;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad steps during cooldown do not count
    }
    if (this.numBadEpochs > this.opts.patience) {
      this.reduce();
      this.cooldownCounter = this.opts.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduce(): void {
    const m = this.opts.minLr;
    this.optimizer.paramGroups.forEach((g, i) => {
      const newLr = Math.max(g.lr * this.opts.factor, Array.isArray(m) ? m[i]! : m);
      if (g.lr - newLr > this.opts.eps) g.lr = newLr;
    });
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerState {
    return {
      type: WHO,
      options: JSON.parse(JSON.stringify(this.opts)) as unknown,
      lastEpoch: this.epoch,
      best: encode(this.best),
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      lastLr: [...this.lastLr],
    };
  }

  loadStateDict(state: unknown): void {
    const s = checkState(WHO, state, WHO);
    const opts = this.parse(s.options);
    const who = `${WHO}.loadStateDict`;
    const epoch = int(who, 'lastEpoch', s.lastEpoch, 0);
    const best = decode(s.best);
    const numBad = int(who, 'numBadEpochs', s.numBadEpochs, 0);
    const cooldown = int(who, 'cooldownCounter', s.cooldownCounter, 0);
    const lastLr = groupNumbers(WHO, 'lastLr', s.lastLr, this.optimizer.paramGroups.length);
    Object.assign(this, { opts, epoch, best, numBadEpochs: numBad, cooldownCounter: cooldown, lastLr: [...lastLr] });
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lastLr[i]!));
  }
}
