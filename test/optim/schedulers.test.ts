// Learning-rate schedulers against PyTorch 1.13 (test/fixtures/optim/gen_schedulers.py): every
// lr (and cycled momentum) of each recorded run, exact resume from a JSON state dict at several
// points, and option errors.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../paths.js';
import {
  CosineAnnealingLR, LinearLR, MultiStepLR, OneCycleLR, PolynomialLR, ReduceLROnPlateau, StepLR,
  withWarmup, type LRScheduler, type Scheduler,
} from '../../src/optim/schedulers.js';
import type { OptimizerLike, ParamGroupOptions } from '../../src/optim/types.js';

interface Spec {
  scheduler: string;
  options: Record<string, unknown>;
}
interface Case extends Spec {
  name: string;
  inner?: Spec;
  groups: ParamGroupOptions[];
  steps: number;
  lr: number[][];
  momentum?: number[][];
  metrics?: number[];
}

const cases = (JSON.parse(readFileSync(fixture('optim', 'schedulers.json'), 'utf8')) as { cases: Case[] }).cases;

const optimizerFor = (c: Case): OptimizerLike => ({ paramGroups: structuredClone(c.groups) });

// The options come from JSON, so the constructors' option types are not visible here.
type Ctor = new (opt: OptimizerLike, options: never) => LRScheduler<object>;
const EPOCH: Record<string, Ctor> = { StepLR, MultiStepLR, LinearLR, PolynomialLR, CosineAnnealingLR, OneCycleLR };

function epochScheduler(spec: Spec, opt: OptimizerLike): LRScheduler<object> {
  const C = EPOCH[spec.scheduler];
  if (!C) throw new Error(`no scheduler ${spec.scheduler}`);
  return new C(opt, spec.options as never);
}

function build(c: Case, opt: OptimizerLike): Scheduler {
  if (c.scheduler === 'ReduceLROnPlateau') return new ReduceLROnPlateau(opt, c.options);
  if (c.scheduler === 'WarmupLR') return withWarmup(epochScheduler(c.inner!, opt), c.options as { iters: number });
  return epochScheduler(c, opt);
}

/** Step `i` (1-based) of a case. */
function advance(s: Scheduler, c: Case, i: number): void {
  if (s instanceof ReduceLROnPlateau) s.step(c.metrics![i - 1]!);
  else (s as unknown as { step(): void }).step();
}

const momenta = (opt: OptimizerLike): number[] => opt.paramGroups.map((g) => (g.betas ? g.betas[0] : g.momentum!));

let worst = 0;
function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    const rel = Math.abs(a - e) / Math.max(Math.abs(e), 1e-300);
    worst = Math.max(worst, Math.abs(e) > 0 ? rel : 0);
    assert.ok(rel < 1e-9 || (e === 0 && Math.abs(a) < 1e-18), `${what} group ${i}: got ${a}, PyTorch ${e} (rel. error ${rel})`);
  });
}

/** Checks the state at step `from`, then steps to the end, checking lrs (getLastLr and the groups) and momenta against the fixture. */
function follow(s: Scheduler, opt: OptimizerLike, c: Case, from: number): number[][] {
  const seen: number[][] = [];
  for (let i = from; i <= c.steps; i++) {
    if (i > from) advance(s, c, i);
    assertClose(s.getLastLr(), c.lr[i]!, `${c.name} step ${i}`);
    assert.deepEqual(opt.paramGroups.map((g) => g.lr), s.getLastLr(), `${c.name} step ${i}: groups hold the last lr`);
    if (c.momentum) assertClose(momenta(opt), c.momentum[i]!, `${c.name} step ${i} momentum`);
    seen.push([...s.getLastLr(), ...momenta(opt).filter((m) => m !== undefined)]);
  }
  return seen;
}

describe('schedulers match PyTorch step by step', () => {
  for (const c of cases) {
    test(c.name, () => {
      const opt = optimizerFor(c);
      follow(build(c, opt), opt, c, 0);
    });
  }
  test('largest relative error stays far below 1e-9', () => {
    console.log(`# largest relative error against PyTorch: ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-9);
  });
});

describe('stateDict / loadStateDict resume the exact sequence', () => {
  for (const c of cases) {
    test(c.name, () => {
      const opt = optimizerFor(c);
      const s = build(c, opt);
      const whole = follow(s, opt, c, 0);
      const stops = [...new Set([0, 1, Math.floor(c.steps / 3), Math.floor(c.steps / 2), c.steps - 1])];
      for (const k of stops) {
        const o1 = optimizerFor(c);
        const s1 = build(c, o1);
        for (let i = 1; i <= k; i++) advance(s1, c, i);
        const saved = JSON.stringify(s1.stateDict()); // must survive plain JSON
        // A fresh optimizer and scheduler, as in a new process: the state alone restores it.
        const o2 = optimizerFor(c);
        const s2 = build(c, o2);
        s2.loadStateDict(JSON.parse(saved));
        assert.deepEqual(s2.stateDict(), JSON.parse(saved), `${c.name}: state after load at step ${k}`);
        const rest = follow(s2, o2, c, k);
        assert.deepEqual(rest, whole.slice(k), `${c.name}: resumed at step ${k} differs from the uninterrupted run`);
      }
    });
  }
});

describe('scheduler behaviour beyond the fixtures', () => {
  const sgd = (lr = 0.1): OptimizerLike => ({ paramGroups: [{ lr, weightDecay: 0, momentum: 0.9 }] });

  test('steps chain on the current lr, so outside changes carry over (PyTorch semantics)', () => {
    const opt = sgd(1);
    const s = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    s.step(); // t=1: 1
    opt.paramGroups[0]!.lr = 0.8; // e.g. a manual change
    s.step(); // t=2: decay from 0.8
    assert.equal(s.getLastLr()[0], 0.4);
  });

  test('construction records initialLr and a later scheduler starts from it', () => {
    const opt = sgd(0.2);
    const a = new LinearLR(opt, { startFactor: 0.5, totalIters: 4 });
    assert.equal(opt.paramGroups[0]!.initialLr, 0.2);
    assert.deepEqual(a.getLastLr(), [0.1]);
    const b = new CosineAnnealingLR(opt, { tMax: 10 });
    b.restart();
    assert.deepEqual(b.getLastLr(), [0.2]);
  });

  test('OneCycleLR refuses to step past totalSteps', () => {
    const s = new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10 });
    for (let i = 0; i < 10; i++) s.step();
    assert.throws(() => s.step(), /step 11 is past the end of the cycle \(totalSteps=10/);
  });

  test('OneCycleLR needs momentum or betas to cycle', () => {
    const opt: OptimizerLike = { paramGroups: [{ lr: 0.1, weightDecay: 0 }] };
    assert.throws(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10 }), /paramGroups\[0\] to have momentum .* or betas/);
    assert.doesNotThrow(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, cycleMomentum: false }));
  });

  test('loading a state of another kind fails with both names', () => {
    const state = new StepLR(sgd(), { stepSize: 3 }).stateDict();
    assert.throws(() => new CosineAnnealingLR(sgd(), { tMax: 5 }).loadStateDict(state), /CosineAnnealingLR.*expected the state of a CosineAnnealingLR, got "StepLR"/);
    const two: OptimizerLike = { paramGroups: [...sgd().paramGroups, ...sgd().paramGroups] };
    assert.throws(() => new StepLR(two, { stepSize: 3 }).loadStateDict(state), /baseLrs must be an array of 2 finite numbers/);
  });

  test('ReduceLROnPlateau wants a plain number', () => {
    const s = new ReduceLROnPlateau(sgd());
    assert.throws(() => s.step({ item: 1 } as unknown as number), /metric must be a number, got object/);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['StepLR stepSize', () => new StepLR(sgd(), { stepSize: 0 }), /StepLR: option stepSize must be an integer >= 1, got 0/],
    ['StepLR gamma', () => new StepLR(sgd(), { stepSize: 2, gamma: -1 }), /StepLR: option gamma must be a finite number > 0, got -1/],
    ['StepLR typo', () => new StepLR(sgd(), { step_size: 3 } as never), /StepLR: unknown option step_size; known options are stepSize, gamma/],
    ['MultiStepLR milestones', () => new MultiStepLR(sgd(), { milestones: [5, 3] }), /option milestones must be an array of strictly increasing integers >= 1, got \[5,3\]/],
    ['LinearLR startFactor', () => new LinearLR(sgd(), { startFactor: 0 }), /LinearLR: option startFactor must be a number in \(0, 1\], got 0/],
    ['PolynomialLR power', () => new PolynomialLR(sgd(), { totalIters: 5, power: 0 }), /PolynomialLR: option power must be a finite number > 0, got 0/],
    ['PolynomialLR minLr', () => new PolynomialLR(sgd(), { totalIters: 5, minLr: [0, 0] }), /option minLr must be a number or an array of 1 numbers/],
    ['CosineAnnealingLR tMax', () => new CosineAnnealingLR(sgd(), { tMax: 2.5 }), /CosineAnnealingLR: option tMax must be an integer >= 1, got 2.5/],
    ['OneCycleLR steps', () => new OneCycleLR(sgd(), { maxLr: 0.1 }), /give option totalSteps, or epochs and stepsPerEpoch/],
    ['OneCycleLR pctStart', () => new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10, pctStart: 1.5 }), /option pctStart must be a number in \[0, 1\], got 1.5/],
    ['OneCycleLR empty phase', () => new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 3, pctStart: 0.3 }), /pctStart=0.3 with totalSteps=3 leaves a phase with no steps/],
    ['OneCycleLR strategy', () => new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10, annealStrategy: 'exp' as never }), /option annealStrategy must be one of "cos", "linear", got "exp"/],
    ['WarmupLR iters', () => withWarmup(new StepLR(sgd(), { stepSize: 2 }), { iters: 0 }), /WarmupLR: option iters must be an integer >= 1, got 0/],
    ['ReduceLROnPlateau factor', () => new ReduceLROnPlateau(sgd(), { factor: 1 }), /ReduceLROnPlateau: option factor must be a number in \(0, 1\), got 1/],
    ['ReduceLROnPlateau mode', () => new ReduceLROnPlateau(sgd(), { mode: 'up' as never }), /option mode must be one of "min", "max", got "up"/],
    ['ReduceLROnPlateau patience', () => new ReduceLROnPlateau(sgd(), { patience: -1 }), /option patience must be an integer >= 0, got -1/],
    ['optimizer lr', () => new StepLR(sgd(Number.NaN), { stepSize: 1 }), /paramGroups\[0\]\.lr must be a finite number >= 0, got NaN/],
  ];
  for (const [name, make, message] of bad) {
    test(`invalid option: ${name}`, () => assert.throws(make, message));
  }
});
