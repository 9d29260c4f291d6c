// WarmupLR: a linear warm-up in front of any epoch-driven scheduler. For `iters` steps the lr
// climbs from startFactor * initialLr towards initialLr; at step `iters` the inner scheduler
// starts over from its step 0 and runs unchanged, shifted by `iters`. This is exactly PyTorch's
// SequentialLR([LinearLR(start_factor, total_iters=iters), inner], milestones=[iters]).

import { LRScheduler, checkState, type Scheduler, type SchedulerState } from './base.js';
import { LinearLR } from './linear.js';
import { groupNumbers, int, known, num } from './check.js';
import type { OptimizerLike } from '../types.js';

export interface WarmupOptions {
  /** Warm-up steps, >= 1. */
  iters: number;
  /** Fraction of the initial lr at step 0, in (0, 1] (default 1/3 like LinearLR). */
  startFactor?: number;
}

const WHO = 'WarmupLR';

function parse(options: unknown): Required<WarmupOptions> {
  const o = known(WHO, options, ['iters', 'startFactor']);
  return {
    iters: int(WHO, 'iters', o.iters, 1),
    startFactor: num(WHO, 'startFactor', o.startFactor ?? 1 / 3, { min: 0, minOpen: true, max: 1 }),
  };
}

export class WarmupLR implements Scheduler {
  readonly optimizer: OptimizerLike;
  readonly inner: LRScheduler<object>;
  private opts: Required<WarmupOptions>;
  private warmup: LinearLR;
  private epoch = 0;
  private lastLr: number[];

  /** `inner` must be freshly built on the same optimizer; its step 0 is undone here. */
  constructor(inner: LRScheduler<object>, options: WarmupOptions) {
    this.opts = parse(options);
    this.inner = inner;
    this.optimizer = inner.optimizer;
    for (const g of this.optimizer.paramGroups) g.lr = g.initialLr as number;
    this.warmup = new LinearLR(this.optimizer, { startFactor: this.opts.startFactor, endFactor: 1, totalIters: this.opts.iters });
    this.lastLr = this.warmup.getLastLr();
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  step(): void {
    this.epoch += 1;
    const active = this.epoch < this.opts.iters ? this.warmup : this.inner;
    if (this.epoch === this.opts.iters) this.inner.restart();
    else active.step();
    this.lastLr = active.getLastLr();
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerState {
    return {
      type: WHO,
      options: { ...this.opts },
      lastEpoch: this.epoch,
      lastLr: [...this.lastLr],
      warmup: this.warmup.stateDict(),
      inner: this.inner.stateDict(),
    };
  }

  loadStateDict(state: unknown): void {
    const s = checkState(WHO, state, WHO);
    const opts = parse(s.options);
    const epoch = int(`${WHO}.loadStateDict`, 'lastEpoch', s.lastEpoch, 0);
    const lastLr = groupNumbers(WHO, 'lastLr', s.lastLr, this.optimizer.paramGroups.length);
    this.warmup.loadStateDict(s.warmup);
    this.inner.loadStateDict(s.inner);
    this.opts = opts;
    this.epoch = epoch;
    this.lastLr = [...lastLr];
    // The children wrote their own last lrs; the active one's are the ones in force.
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lastLr[i]!));
  }
}

/** `inner` with a linear warm-up of `iters` steps in front (see WarmupLR). */
export function withWarmup(inner: LRScheduler<object>, options: WarmupOptions): WarmupLR {
  return new WarmupLR(inner, options);
}
