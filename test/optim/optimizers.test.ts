// SGD, Adam, AdamW and RAdam against PyTorch 1.13 (test/fixtures/optim/gen_optimizers.py): every
// step's parameters, the state dict after step 20, resume from PyTorch's step-10 state dict,
// resume through our own JSON + tensors split, OneCycleLR cycling momentum / betas[0] through the
// param groups (gen_onecycle.py), option errors, and no leaked native tensors anywhere.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../paths.js';
import { tensor, zeros, type Tensor } from '../../src/torch/index.js';
import {
  Adam, AdamW, OneCycleLR, RAdam, SGD, disposeStateDict, joinStateDict, splitStateDict,
  type Optimizer, type OptimizerStateDict, type OptimizerStateJson, type ParamState,
} from '../../src/optim/index.js';
import { noLeak } from './no-leak.js';

type Flat = number[];
interface Case {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RAdam';
  groups: { params: number[]; options: Record<string, unknown> }[];
  initial: Flat[];
  grads: Flat[][];
  params: Flat[][];
  stateDicts: Record<'10' | '20', { state: Record<string, Flat | number | null>[]; paramGroups: Record<string, unknown>[] }>;
}
const fx = JSON.parse(readFileSync(fixture('optim', 'optimizers.json'), 'utf8')) as { steps: number; shapes: number[][]; cases: Case[] };
const SHAPES = fx.shapes;

const CTORS = { SGD, Adam, AdamW, RAdam } as const;
type AnyOptimizer = Optimizer;

const makeParams = (values: Flat[]): Tensor[] => values.map((v, i) => tensor(Float32Array.from(v), { shape: SHAPES[i], requiresGrad: true }));

function build(c: Case, params: Tensor[]): AnyOptimizer {
  const groups = c.groups.map((g) => ({ params: g.params.map((i) => params[i]!), ...g.options }));
  return new CTORS[c.optimizer](groups as never) as unknown as AnyOptimizer;
}

function setGrads(params: Tensor[], grads: Flat[]): void {
  params.forEach((p, i) => {
    const g = tensor(Float32Array.from(grads[i]!), { shape: SHAPES[i] });
    p.grad = g;
    g.dispose();
  });
}

// Float32 agreement with PyTorch: |a - e| <= 1e-8 + 2e-6 |e| (about 16 float32 ulps). On the
// machine that made the fixtures every value is bit-identical; the bound leaves room for another
// CPU's vector code while still catching any real change in the update math.
const RTOL = 2e-6;
const ATOL = 1e-8;
const stats = { values: 0, exact: 0, worst: 0 };
function assertClose(actual: ArrayLike<number>, expected: Flat, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = Math.fround(expected[i]!);
    const err = Math.abs(actual[i]! - e);
    const bound = ATOL + RTOL * Math.abs(e);
    stats.values += 1;
    if (err === 0) stats.exact += 1;
    stats.worst = Math.max(stats.worst, err / bound);
    if (!(err <= bound)) assert.fail(`${what}[${i}]: got ${actual[i]}, PyTorch ${e} (error ${err.toExponential(2)})`);
  }
}

function dispose(params: Tensor[], opt?: AnyOptimizer): void {
  opt?.dispose();
  for (const p of params) p.dispose();
}

/** PyTorch's step-k state dict from the fixture, as PyTorch holds it: tensors (the caller disposes them). */
function fixtureState(c: Case, k: '10' | '20'): OptimizerStateDict {
  const saved = c.stateDicts[k];
  const state: Record<number, ParamState> = {};
  saved.state.forEach((entry, i) => {
    state[i] = Object.fromEntries(
      Object.entries(entry).map(([key, v]) => {
        if (Array.isArray(v)) return [key, tensor(Float32Array.from(v), { shape: SHAPES[i] })];
        return [key, key === 'step' ? tensor(v as number) : v]; // PyTorch 1.13 saves a 0-dim float32 step
      }),
    );
  });
  return { state, param_groups: saved.paramGroups as OptimizerStateDict['param_groups'] };
}

const PYTORCH_ONLY = ['foreach', 'capturable', 'differentiable', 'fused'];

describe('optimizers match PyTorch 1.13', () => {
  for (const c of fx.cases) {
    test(`${c.name}: 20 steps, state after step 20`, () =>
      noLeak(() => {
        const params = makeParams(c.initial);
        const opt = build(c, params);
        for (let k = 0; k < fx.steps; k++) {
          setGrads(params, c.grads[k]!);
          opt.step();
          params.forEach((p, i) => assertClose(p.data() as Float32Array, c.params[k]![i]!, `${c.name} step ${k + 1} param ${i}`));
        }
        const sd = opt.stateDict();
        const expected = c.stateDicts['20'];
        expected.state.forEach((entry, i) => {
          const mine = sd.state[i]!;
          assert.deepEqual(Object.keys(mine).sort(), Object.keys(entry).sort(), `${c.name} state[${i}] keys`);
          for (const [key, v] of Object.entries(entry)) {
            const got = mine[key];
            if (Array.isArray(v)) assertClose((got as Tensor).data() as Float32Array, v, `${c.name} state[${i}].${key}`);
            else assert.equal(got, v, `${c.name} state[${i}].${key}`);
          }
        });
        const groups = expected.paramGroups.map((g) => Object.fromEntries(Object.entries(g).filter(([k]) => !PYTORCH_ONLY.includes(k))));
        assert.deepEqual(sd.param_groups, groups, `${c.name} param_groups`);
        disposeStateDict(sd);
        dispose(params, opt);
      }));

    test(`${c.name}: resume from PyTorch's step-10 state dict`, () =>
      noLeak(() => {
        const params = makeParams(c.params[9]!);
        const fresh = c.groups.map((g) => ({ ...g, options: { ...g.options, lr: 123 } })); // the loaded options must win
        const opt = build({ ...c, groups: fresh }, params);
        const sd = fixtureState(c, '10');
        opt.loadStateDict(sd);
        disposeStateDict(sd); // the optimizer copied what it needs
        assert.deepEqual(opt.paramGroups.map((g) => g.lr), c.groups.map((g) => g.options.lr));
        for (let k = 10; k < fx.steps; k++) {
          setGrads(params, c.grads[k]!);
          opt.step();
          params.forEach((p, i) => assertClose(p.data() as Float32Array, c.params[k]![i]!, `${c.name} resumed step ${k + 1} param ${i}`));
        }
        dispose(params, opt);
      }));
  }

  test('resume through stateDict -> JSON + tensors -> loadStateDict continues bit for bit', () =>
    noLeak(() => {
      for (const name of ['sgd_two_groups', 'adam_amsgrad', 'adamw_two_groups', 'radam']) {
        const c = fx.cases.find((x) => x.name === name)!;
        const a = makeParams(c.initial);
        const optA = build(c, a);
        for (let k = 0; k < 10; k++) {
          setGrads(a, c.grads[k]!);
          optA.step();
        }
        const sd = optA.stateDict();
        const { json, tensors } = splitStateDict(sd, 'optimizer.');
        const text = JSON.stringify(json);
        // what a checkpoint writer would store: a JSON text and named tensor copies
        const copies = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.clone()]));
        disposeStateDict(sd);
        const b = makeParams(a.map((p) => Array.from(p.data() as Float32Array)));
        const optB = build(c, b);
        const joined = joinStateDict(JSON.parse(text) as OptimizerStateJson, copies);
        optB.loadStateDict(joined);
        for (const t of Object.values(copies)) t.dispose();
        for (let k = 10; k < fx.steps; k++) {
          setGrads(a, c.grads[k]!);
          setGrads(b, c.grads[k]!);
          optA.step();
          optB.step();
        }
        a.forEach((p, i) => assert.deepEqual(b[i]!.data(), p.data(), `${name}: resumed param ${i}`));
        dispose(a, optA);
        dispose(b, optB);
      }
    }));

  test('report: agreement with PyTorch', () => {
    assert.ok(stats.values > 6000, `compared ${stats.values} values`);
    console.log(`# optimizers: ${stats.exact} of ${stats.values} values bit-identical to PyTorch; worst error ${(stats.worst * 100).toFixed(1)}% of the bound`);
  });
});

describe('optimizer mechanics', () => {
  test('zeroGrad drops gradients by default, or zeroes them in place', () =>
    noLeak(() => {
      const p = zeros([3], { requiresGrad: true });
      const opt = new SGD([p], { lr: 0.1 });
      const g = tensor([1, 2, 3]);
      p.grad = g;
      opt.zeroGrad({ setToNone: false });
      assert.deepEqual(g.toArray(), [0, 0, 0]);
      opt.zeroGrad();
      assert.equal(p.grad, undefined);
      g.dispose();
      dispose([p], opt);
    }));

  test('parameters without a gradient are skipped and get no state', () =>
    noLeak(() => {
      const [w, b] = [tensor([1, 2], { requiresGrad: true }), tensor([3], { requiresGrad: true })];
      const opt = new Adam([w, b], { lr: 0.1 });
      const g = tensor([0.5, -0.5]);
      w.grad = g;
      g.dispose();
      opt.step();
      assert.deepEqual(b.toArray(), [3]);
      const sd = opt.stateDict();
      assert.deepEqual(Object.keys(sd.state), ['0']);
      assert.equal(sd.state[0]!.step, 1);
      // Adam's first step moves every coordinate by lr (m / sqrt(v) = sign(g) after bias correction)
      const w1 = Array.from(w.data() as Float32Array);
      assert.ok(Math.abs(w1[0]! - 0.9) < 1e-6 && Math.abs(w1[1]! - 2.1) < 1e-6, `got ${w1}`);
      disposeStateDict(sd);
      dispose([w, b], opt);
    }));

  test('stateDict tensors are new handles: disposing them leaves the optimizer working', () =>
    noLeak(() => {
      const p = tensor([1, 2], { requiresGrad: true });
      const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
      for (let k = 0; k < 2; k++) {
        const g = tensor([1, 1]);
        p.grad = g;
        g.dispose();
        opt.step();
        disposeStateDict(opt.stateDict());
      }
      // buf = 1, then 0.9 * 1 + 1 = 1.9: p = 1 - 0.1 - 0.19
      assert.ok(Math.abs((p.data() as Float32Array)[0]! - 0.71) < 1e-6);
      dispose([p], opt);
    }));

  test('param groups: defaults fill gaps, SGD groups carry momentum, Adam groups betas', () =>
    noLeak(() => {
      const [a, b] = [zeros([2], { requiresGrad: true }), zeros([2], { requiresGrad: true })];
      const sgd = new SGD([{ params: [a], lr: 0.1, weightDecay: 1e-4 }, { params: [b] }], { lr: 0.01 });
      assert.deepEqual(
        sgd.paramGroups.map(({ params, ...o }) => ({ n: params.length, ...o })),
        [
          { n: 1, lr: 0.1, momentum: 0, dampening: 0, weightDecay: 1e-4, nesterov: false, maximize: false },
          { n: 1, lr: 0.01, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
        ],
      );
      sgd.dispose();
      const adamw = new AdamW([a, b], { lr: 3e-4 });
      assert.deepEqual(adamw.paramGroups[0]!.betas, [0.9, 0.999]);
      assert.equal(adamw.paramGroups[0]!.weightDecay, 1e-2);
      adamw.paramGroups[0]!.betas[0] = 0.5; // groups own their arrays
      assert.deepEqual(adamw.defaults.betas, [0.9, 0.999]);
      adamw.dispose();
      dispose([a, b]);
    }));

  test('options are validated with the option and the value in the message', () =>
    noLeak(() => {
      const p = zeros([2], { requiresGrad: true });
      assert.throws(() => new SGD([p]), /SGD paramGroups\[0\]: option lr is required/);
      assert.throws(() => new SGD([p], { lr: -0.1 }), /SGD paramGroups\[0\]: option lr must be a finite number >= 0, got -0.1/);
      assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /nesterov needs momentum > 0 and dampening 0/);
      assert.throws(() => new SGD([p], { lr: 0.1, weight_decay: 1 } as never), /unknown option weight_decay/);
      assert.throws(() => new Adam([p], { betas: [0.9, 1] }), /option betas\[1\] must be a number in \[0, 1\), got 1/);
      assert.throws(() => new AdamW([p], { eps: -1 }), /AdamW paramGroups\[0\]: option eps must be a finite number >= 0, got -1/);
      assert.throws(() => new RAdam([{ params: [p], weightDecay: -1 }]), /option weightDecay must be a finite number >= 0, got -1/);
      assert.throws(() => new Adam([]), /empty parameter list/);
      assert.throws(() => new Adam([{ params: [p] }, { params: [p] }]), /already belongs to a param group/);
      const ints = tensor([1, 2], { dtype: 'int64' });
      assert.throws(() => new Adam([ints]), /dtype int64; only floating-point/);
      const nonLeaf = p.mul(2);
      assert.throws(() => new Adam([nonLeaf]), /not a leaf tensor/);
      dispose([p, ints, nonLeaf]);
    }));

  test('loadStateDict rejects a state that does not fit, and leaves the optimizer as it was', () =>
    noLeak(() => {
      const c = fx.cases.find((x) => x.name === 'adam_default')!;
      const params = makeParams(c.initial);
      const opt = build(c, params);
      const good = fixtureState(c, '10');
      const swapped = { ...good, param_groups: [{ ...good.param_groups[0]!, params: [1, 0] }] };
      assert.throws(() => opt.loadStateDict(swapped), /state\[0\]\.exp_avg has shape \[3,4\] but the parameter has \[5\]/);
      const badBeta = { ...good, param_groups: [{ ...good.param_groups[0]!, betas: [1.5, 0.999] }] };
      assert.throws(() => opt.loadStateDict(badBeta), /option betas\[0\] must be a number in \[0, 1\), got 1.5/);
      assert.throws(() => opt.loadStateDict({ ...good, param_groups: [] }), /has 0 param groups, this optimizer 1/);
      assert.equal(opt.paramGroups[0]!.lr, 1e-3);
      disposeStateDict(good);
      dispose(params, opt);
    }));

  test('a disposed optimizer refuses to step', () =>
    noLeak(() => {
      const p = zeros([1], { requiresGrad: true });
      const opt = new SGD([p], { lr: 1 });
      opt.dispose();
      assert.throws(() => opt.step(), /SGD.step: the optimizer was disposed/);
      p.dispose();
    }));
});

interface CycleCase {
  name: string;
  optimizer: 'SGD' | 'AdamW';
  options: Record<string, unknown>;
  scheduler: { totalSteps: number; maxLr: number };
  initial: Flat[];
  grads: Flat[][];
  params: Flat[][];
  lr: number[];
  momentum: number[];
}

describe('OneCycleLR drives the optimizers through their param groups', () => {
  const cycle = JSON.parse(readFileSync(fixture('optim', 'onecycle.json'), 'utf8')) as { cases: CycleCase[] };
  for (const c of cycle.cases) {
    test(`${c.name}: lr and ${c.optimizer === 'SGD' ? 'momentum' : 'betas[0]'} cycled, parameters as PyTorch`, () =>
      noLeak(() => {
        const params = makeParams(c.initial);
        const opt = (c.optimizer === 'SGD' ? new SGD(params, c.options) : new AdamW(params, c.options)) as unknown as AnyOptimizer;
        const sched = new OneCycleLR(opt, c.scheduler);
        c.params.forEach((expected, k) => {
          const g = opt.paramGroups[0]!;
          assert.ok(Math.abs(g.lr - c.lr[k]!) <= 1e-15, `step ${k + 1}: lr ${g.lr} vs ${c.lr[k]}`);
          const m = c.optimizer === 'SGD' ? g.momentum! : g.betas![0];
          assert.ok(Math.abs(m - c.momentum[k]!) <= 1e-15, `step ${k + 1}: momentum ${m} vs ${c.momentum[k]}`);
          setGrads(params, c.grads[k]!);
          opt.step();
          sched.step();
          params.forEach((p, i) => assertClose(p.data() as Float32Array, expected[i]!, `${c.name} step ${k + 1} param ${i}`));
        });
        dispose(params, opt);
      }));
  }
});
