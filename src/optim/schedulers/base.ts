// The epoch-driven schedulers share PyTorch's `_LRScheduler` mechanics: attaching records
// `initialLr` in every param group (if absent) and performs step 0; each `step()` then derives
// the next lr from the group's current lr (PyTorch's "chainable" form), so values match PyTorch
// to the last bits and other code may still scale the lr in between.

import type { OptimizerLike } from '../types.js';
import { groupNumbers, int } from './check.js';

/** Plain-JSON scheduler state: `JSON.stringify` it into a checkpoint, parse and load it back. */
export interface SchedulerState {
  type: string;
  [k: string]: unknown;
}

export interface Scheduler {
  readonly optimizer: OptimizerLike;
  /** Last lr applied to each param group. */
  getLastLr(): number[];
  stateDict(): SchedulerState;
  loadStateDict(state: unknown): void;
}

export function checkOptimizer(who: string, optimizer: OptimizerLike): void {
  const groups = optimizer?.paramGroups;
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new Error(`${who}: the optimizer has no paramGroups; pass an optimizer with at least one param group`);
  }
  groups.forEach((g, i) => {
    if (typeof g.lr !== 'number' || !Number.isFinite(g.lr) || g.lr < 0) {
      throw new Error(`${who}: paramGroups[${i}].lr must be a finite number >= 0, got ${String(g.lr)}`);
    }
  });
}

export function checkState(who: string, state: unknown, type: string): Record<string, unknown> {
  if (state === null || typeof state !== 'object' || (state as SchedulerState).type !== type) {
    const got = state !== null && typeof state === 'object' ? (state as SchedulerState).type : state;
    throw new Error(`${who}.loadStateDict: expected the state of a ${type}, got ${JSON.stringify(got)}; build the same scheduler kind before loading`);
  }
  return state as Record<string, unknown>;
}

export abstract class LRScheduler<O extends object> implements Scheduler {
  readonly optimizer: OptimizerLike;
  /** The lr each group's schedule starts from (the groups' `initialLr`). */
  protected baseLrs: number[] = [];
  /** Index of the last step taken; 0 after construction. */
  protected epoch = -1;
  protected lastLr: number[] = [];
  protected abstract opts: O;

  constructor(optimizer: OptimizerLike) {
    checkOptimizer(this.constructor.name, optimizer);
    this.optimizer = optimizer;
  }

  /** Class name written into and checked against state dicts. */
  protected abstract get kind(): string;
  /** Next lrs from the current ones; `this.epoch` is already advanced. */
  protected abstract chainLrs(): number[];
  /** Checks options (from the constructor or a state dict) and fills defaults. */
  protected abstract parseOptions(options: unknown): O;

  /** Records `initialLr` and performs step 0; subclasses call it last in their constructor. */
  protected attach(): void {
    for (const g of this.optimizer.paramGroups) g.initialLr ??= g.lr;
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initialLr as number);
    this.step();
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  get groups(): number {
    return this.optimizer.paramGroups.length;
  }

  /** A per-group option as one value per param group (an array is taken as it is). */
  protected perGroup(v: number | number[]): number[] {
    return Array.isArray(v) ? v : new Array<number>(this.groups).fill(v);
  }

  /** Advances one step (one iteration or one epoch, as the caller counts) and sets the lrs. */
  step(): void {
    this.epoch += 1;
    this.apply(this.chainLrs());
  }

  /**
   * Starts the schedule over from step 0, from `initialLr` (PyTorch's `step(0)`, which
   * SequentialLR and so WarmupLR call when they hand over to this scheduler).
   */
  restart(): void {
    this.epoch = 0;
    this.apply(this.startLrs());
  }

  /** Step-0 lrs computed from the base lrs alone (PyTorch's closed form at epoch 0). */
  protected startLrs(): number[] {
    return [...this.baseLrs];
  }

  protected apply(lrs: number[]): void {
    lrs.forEach((lr, i) => (this.optimizer.paramGroups[i]!.lr = lr));
    this.lastLr = [...lrs];
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** Scheduler-specific state beyond options, epoch and lrs. */
  protected extraState(): Record<string, unknown> {
    return {};
  }

  protected loadExtra(_state: Record<string, unknown>): void {}

  stateDict(): SchedulerState {
    return {
      type: this.kind,
      options: JSON.parse(JSON.stringify(this.opts)) as unknown,
      lastEpoch: this.epoch,
      baseLrs: [...this.baseLrs],
      lastLr: [...this.lastLr],
      ...this.extraState(),
    };
  }

  /**
   * Restores options, step and lrs (like PyTorch, the saved options win over the constructor's),
   * and writes the saved lrs back into the param groups so the schedule continues exactly even
   * when the optimizer's own state was not restored.
   */
  loadStateDict(state: unknown): void {
    const s = checkState(this.kind, state, this.kind);
    const opts = this.parseOptions(s.options);
    const epoch = int(`${this.kind}.loadStateDict`, 'lastEpoch', s.lastEpoch, 0);
    const baseLrs = groupNumbers(this.kind, 'baseLrs', s.baseLrs, this.groups);
    const lastLr = groupNumbers(this.kind, 'lastLr', s.lastLr, this.groups);
    this.opts = opts;
    this.epoch = epoch;
    this.baseLrs = [...baseLrs];
    this.loadExtra(s);
    this.optimizer.paramGroups.forEach((g, i) => (g.initialLr = baseLrs[i]));
    this.apply(lastLr);
  }
}
