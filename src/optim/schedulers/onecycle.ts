// OneCycleLR (Smith's 1cycle policy): the lr rises from maxLr/divFactor to maxLr over
// pctStart of the run, then anneals to initial/finalDivFactor; momentum (SGD groups) or
// betas[0] (Adam groups) moves the opposite way between maxMomentum and baseMomentum.
// Per-step values are a closed form of the step index, as in PyTorch.

import type { OptimizerLike, ParamGroupOptions } from '../types.js';
import { LRScheduler } from './base.js';
import { bool, choice, int, known, num, perGroup } from './check.js';

export interface OneCycleLROptions {
  /** Peak lr: one value or one per param group. */
  maxLr: number | number[];
  /** Steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the steps spent raising the lr (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Initial lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** Final lr = initial lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Fall back to the initial lr symmetrically, then anneal to the final lr (default false). */
  threePhase?: boolean;
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
}

type Checked = Required<Omit<OneCycleLROptions, 'epochs' | 'stepsPerEpoch'>>;
type Level = 'initial' | 'max' | 'min';
interface Phase {
  end: number;
  lr: [Level, Level];
  momentum: ['max' | 'base', 'max' | 'base'];
}

const WHO = 'OneCycleLR';
const KEYS = [
  'maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'divFactor',
  'finalDivFactor', 'threePhase', 'cycleMomentum', 'baseMomentum', 'maxMomentum',
] as const;

function annealCos(start: number, end: number, pct: number): number {
  const cosOut = Math.cos(Math.PI * pct) + 1;
  return end + ((start - end) / 2.0) * cosOut;
}

function annealLinear(start: number, end: number, pct: number): number {
  return (end - start) * pct + start;
}

export class OneCycleLR extends LRScheduler<Checked> {
  protected opts: Checked;

  constructor(optimizer: OptimizerLike, options: OneCycleLROptions) {
    super(optimizer);
    this.opts = this.parseOptions(options);
    // PyTorch overwrites initial_lr: the cycle always starts at maxLr / divFactor.
    const { initial } = this.levels();
    this.optimizer.paramGroups.forEach((g, i) => (g.initialLr = initial[i]));
    this.attach();
  }

  protected get kind(): string {
    return WHO;
  }

  protected parseOptions(options: unknown): Checked {
    const o = known(WHO, options, KEYS);
    const n = this.groups;
    let totalSteps: number;
    if (o.totalSteps !== undefined) totalSteps = int(WHO, 'totalSteps', o.totalSteps, 1);
    else if (o.epochs !== undefined || o.stepsPerEpoch !== undefined) {
      totalSteps = int(WHO, 'epochs', o.epochs, 1) * int(WHO, 'stepsPerEpoch', o.stepsPerEpoch, 1);
    } else throw new Error(`${WHO}: give option totalSteps, or epochs and stepsPerEpoch`);
    const pctStart = num(WHO, 'pctStart', o.pctStart ?? 0.3, { min: 0, max: 1 });
    const threePhase = bool(WHO, 'threePhase', o.threePhase ?? false);
    // Each phase needs a positive length, or the annealing fraction divides by zero.
    const p1 = pctStart * totalSteps - 1;
    const ends = threePhase ? [p1, 2 * pctStart * totalSteps - 2, totalSteps - 1] : [p1, totalSteps - 1];
    if (ends.some((e, i) => e <= (i === 0 ? 0 : ends[i - 1]!))) {
      throw new Error(
        `${WHO}: pctStart=${pctStart} with totalSteps=${totalSteps}${threePhase ? ' and threePhase' : ''} leaves a phase with no steps; ` +
          `need pctStart * totalSteps > 1 and ${threePhase ? '2 * pctStart * totalSteps < totalSteps + 1' : 'pctStart * totalSteps < totalSteps'}`,
      );
    }
    const maxLr = o.maxLr;
    perGroup(WHO, 'maxLr', maxLr, n, { min: 0, minOpen: true });
    const baseMomentum = o.baseMomentum ?? 0.85;
    const maxMomentum = o.maxMomentum ?? 0.95;
    perGroup(WHO, 'baseMomentum', baseMomentum, n, { min: 0, max: 1 });
    perGroup(WHO, 'maxMomentum', maxMomentum, n, { min: 0, max: 1 });
    const copy = (v: unknown): number | number[] => (Array.isArray(v) ? [...(v as number[])] : (v as number));
    const checked: Checked = {
      maxLr: copy(maxLr),
      totalSteps,
      pctStart,
      annealStrategy: choice(WHO, 'annealStrategy', o.annealStrategy ?? 'cos', ['cos', 'linear'] as const),
      divFactor: num(WHO, 'divFactor', o.divFactor ?? 25, { min: 0, minOpen: true }),
      finalDivFactor: num(WHO, 'finalDivFactor', o.finalDivFactor ?? 1e4, { min: 0, minOpen: true }),
      threePhase,
      cycleMomentum: bool(WHO, 'cycleMomentum', o.cycleMomentum ?? true),
      baseMomentum: copy(baseMomentum),
      maxMomentum: copy(maxMomentum),
    };
    if (checked.cycleMomentum) {
      this.optimizer.paramGroups.forEach((g, i) => {
        if (g.betas === undefined && g.momentum === undefined) {
          throw new Error(
            `${WHO}: cycleMomentum needs paramGroups[${i}] to have momentum (SGD-like) or betas (Adam-like); set cycleMomentum: false for this optimizer`,
          );
        }
      });
    }
    return checked;
  }

  /** The lr and momentum levels the phases move between, per group. */
  private levels(): Record<Level, number[]> & { maxM: number[]; baseM: number[] } {
    const max = this.perGroup(this.opts.maxLr);
    const initial = max.map((m) => m / this.opts.divFactor);
    const min = initial.map((x) => x / this.opts.finalDivFactor);
    return { initial, max, min, maxM: this.perGroup(this.opts.maxMomentum), baseM: this.perGroup(this.opts.baseMomentum) };
  }

  private phases(): Phase[] {
    const { pctStart: p, totalSteps: T } = this.opts;
    const up: Phase = { end: p * T - 1, lr: ['initial', 'max'], momentum: ['max', 'base'] };
    if (!this.opts.threePhase) return [up, { end: T - 1, lr: ['max', 'min'], momentum: ['base', 'max'] }];
    return [
      up,
      { end: 2 * p * T - 2, lr: ['max', 'initial'], momentum: ['base', 'max'] },
      { end: T - 1, lr: ['initial', 'min'], momentum: ['max', 'max'] },
    ];
  }

  override step(): void {
    if (this.epoch + 1 > this.opts.totalSteps) {
      throw new Error(
        `${WHO}: step ${this.epoch + 1} is past the end of the cycle (totalSteps=${this.opts.totalSteps}, i.e. at most ${this.opts.totalSteps} step() calls); raise totalSteps or stop stepping`,
      );
    }
    super.step();
  }

  protected chainLrs(): number[] {
    const lv = this.levels();
    const phases = this.phases();
    const anneal = this.opts.annealStrategy === 'cos' ? annealCos : annealLinear;
    const t = this.epoch;
    return this.optimizer.paramGroups.map((g, i) => {
      let start = 0;
      for (let k = 0; k < phases.length; k++) {
        const ph = phases[k]!;
        if (t <= ph.end || k === phases.length - 1) {
          const pct = (t - start) / (ph.end - start);
          if (this.opts.cycleMomentum) {
            const m = (x: 'max' | 'base'): number => (x === 'max' ? lv.maxM[i]! : lv.baseM[i]!);
            setMomentum(g, anneal(m(ph.momentum[0]), m(ph.momentum[1]), pct));
          }
          return anneal(lv[ph.lr[0]][i]!, lv[ph.lr[1]][i]!, pct);
        }
        start = ph.end;
      }
      throw new Error('unreachable: the last phase always matches');
    });
  }

  protected override startLrs(): number[] {
    return this.chainLrs(); // closed form: this.epoch is already 0
  }

  protected override extraState(): Record<string, unknown> {
    if (!this.opts.cycleMomentum) return {};
    return { lastMomentum: this.optimizer.paramGroups.map((g) => (g.betas !== undefined ? g.betas[0] : (g.momentum as number))) };
  }

  protected override loadExtra(state: Record<string, unknown>): void {
    if (!this.opts.cycleMomentum) return;
    const m = state.lastMomentum;
    if (!Array.isArray(m) || m.length !== this.groups || !m.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new Error(`${WHO}.loadStateDict: lastMomentum must be an array of ${this.groups} finite numbers, got ${JSON.stringify(m)}`);
    }
    this.optimizer.paramGroups.forEach((g, i) => setMomentum(g, m[i] as number));
  }
}

function setMomentum(g: ParamGroupOptions, m: number): void {
  if (g.betas !== undefined) g.betas = [m, g.betas[1]];
  else g.momentum = m;
}
