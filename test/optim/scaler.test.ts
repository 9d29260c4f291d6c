// GradScaler against torch.cuda.amp.GradScaler's documented behaviour (PyTorch's scaler runs on
// CUDA only, so the expectations are hand-computed): exact unscaling, skipped steps and backoff on
// inf/NaN, growth after growthInterval clean steps, unscale_ before clipping, several optimizers,
// misuse errors, state dicts, the disabled pass-through; no leaked native tensors.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, type Tensor } from '../../src/torch/index.js';
import { GradScaler, SGD, clipGradNorm_ } from '../../src/optim/index.js';
import { noLeak } from './no-leak.js';

const param = (values: number[]): Tensor => tensor(values, { requiresGrad: true });

function setGrad(p: Tensor, values: number[]): void {
  const g = tensor(values);
  p.grad = g;
  g.dispose();
}

/** loss = scale * 0.5 * sum(p²), backward: p.grad = scale * p. */
function scaledBackward(scaler: GradScaler, params: Tensor[]): void {
  for (const p of params) {
    const sq = p.mul(p);
    const sum = sq.sum();
    const loss = sum.mul(0.5);
    const scaled = scaler.scale(loss);
    scaled.backward();
    for (const t of [sq, sum, loss, scaled]) t.dispose();
  }
}

const values = (t: Tensor): number[] => t.toArray();

describe('GradScaler', () => {
  test('scales the loss, unscales the gradients exactly, then steps', () =>
    noLeak(() => {
      const p = param([1, -2, 0.3]);
      const ref = param([1, -2, 0.3]);
      const opt = new SGD([p], { lr: 0.1 });
      const refOpt = new SGD([ref], { lr: 0.1 });
      const scaler = new GradScaler();
      assert.equal(scaler.getScale(), 65536);

      const loss = tensor(1.5);
      const scaled = scaler.scale(loss);
      assert.equal(scaled.item(), 1.5 * 65536);
      for (const t of [loss, scaled]) t.dispose();

      scaledBackward(scaler, [p]);
      const g = p.grad!;
      assert.deepEqual(values(g), [65536, -131072, Math.fround(0.3) * 65536]);
      g.dispose();
      assert.equal(scaler.step(opt), true);
      setGrad(ref, [1, -2, 0.3]);
      refOpt.step();
      assert.deepEqual(values(p), values(ref)); // bit for bit: the scale is a power of two
      scaler.update();
      assert.equal(scaler.getScale(), 65536);
      assert.equal(scaler.getGrowthTracker(), 1);
      for (const o of [opt, refOpt]) o.dispose();
      for (const t of [p, ref]) t.dispose();
    }));

  test('an inf or NaN gradient skips the step and halves the scale', () =>
    noLeak(() => {
      const [a, b] = [param([1, 2]), param([3])];
      const opt = new SGD([a, b], { lr: 0.1, momentum: 0.9 });
      const scaler = new GradScaler({ initScale: 1024, growthInterval: 2 });
      for (const [bad, scale] of [[Infinity, 512], [NaN, 256], [-Infinity, 128]] as const) {
        setGrad(a, [1, 2]);
        setGrad(b, [bad]);
        assert.equal(scaler.step(opt), false);
        scaler.update();
        assert.equal(scaler.getScale(), scale);
        assert.equal(scaler.getGrowthTracker(), 0);
      }
      assert.deepEqual(values(a), [1, 2]);
      assert.deepEqual(values(b), [3]);
      // skipped steps created no optimizer state
      assert.deepEqual(opt.stateDict().state, {});
      opt.dispose();
      for (const t of [a, b]) t.dispose();
    }));

  test('grows the scale after growthInterval clean steps in a row; an overflow restarts the count', () =>
    noLeak(() => {
      const p = param([0.5]);
      const opt = new SGD([p], { lr: 0 });
      const scaler = new GradScaler({ initScale: 8, growthFactor: 4, backoffFactor: 0.25, growthInterval: 3 });
      const seen: [number, number][] = [];
      for (const g of [1, 1, Infinity, 1, 1, 1, 1]) {
        setGrad(p, [g]);
        scaler.step(opt);
        scaler.update();
        seen.push([scaler.getScale(), scaler.getGrowthTracker()]);
      }
      assert.deepEqual(seen, [[8, 1], [8, 2], [2, 0], [2, 1], [2, 2], [8, 0], [8, 1]]);
      opt.dispose();
      p.dispose();
    }));

  test('the scale never grows past float32 range', () =>
    noLeak(() => {
      const p = param([1]);
      const opt = new SGD([p], { lr: 0 });
      const scaler = new GradScaler({ initScale: 2 ** 127, growthInterval: 1 });
      setGrad(p, [1]);
      scaler.step(opt);
      scaler.update();
      assert.equal(scaler.getScale(), 2 ** 127);
      assert.equal(scaler.getGrowthTracker(), 0);
      opt.dispose();
      p.dispose();
    }));

  test('unscale_ before clipping: step() does not divide again', () =>
    noLeak(() => {
      const p = param([3, 4]);
      const opt = new SGD([p], { lr: 1 });
      const scaler = new GradScaler({ initScale: 256 });
      scaledBackward(scaler, [p]); // grad = 256 * [3, 4]
      scaler.unscale_(opt);
      const norm = clipGradNorm_([p], 1); // the true norm, 5, clipped to 1: grad [0.6, 0.8]
      assert.ok(Math.abs(norm.item() - 5) < 1e-6);
      norm.dispose();
      assert.equal(scaler.step(opt), true);
      const [x, y] = values(p);
      assert.ok(Math.abs(x! - 2.4) < 1e-5 && Math.abs(y! - 3.2) < 1e-5, `got ${x}, ${y}`);
      scaler.update();
      opt.dispose();
      p.dispose();
    }));

  test('with several optimizers each steps on its own gradients; the scale backs off if any overflowed', () =>
    noLeak(() => {
      const [a, b] = [param([1]), param([1])];
      const [optA, optB] = [new SGD([a], { lr: 0.5 }), new SGD([b], { lr: 0.5 })];
      const scaler = new GradScaler({ initScale: 4 });
      setGrad(a, [4]); // 1 once unscaled
      setGrad(b, [NaN]);
      assert.equal(scaler.step(optA), true);
      assert.equal(scaler.step(optB), false);
      scaler.update();
      assert.deepEqual([values(a), values(b)], [[0.5], [1]]);
      assert.equal(scaler.getScale(), 2);
      for (const o of [optA, optB]) o.dispose();
      for (const t of [a, b]) t.dispose();
    }));

  test('misuse is reported with what to do', () =>
    noLeak(() => {
      const p = param([1]);
      const opt = new SGD([p], { lr: 0.1 });
      const scaler = new GradScaler();
      assert.throws(() => scaler.update(), /no inf checks were recorded; call step\(optimizer\)/);
      setGrad(p, [1]);
      scaler.unscale_(opt);
      assert.throws(() => scaler.unscale_(opt), /unscale_: already called for this optimizer since the last update/);
      scaler.step(opt);
      assert.throws(() => scaler.step(opt), /step: already called for this optimizer since the last update/);
      assert.throws(() => scaler.unscale_(opt), /unscale_: called after step\(\)/);
      scaler.update();
      const half = tensor([1], { dtype: 'float16' });
      p.grad = undefined;
      const q = tensor([1], { dtype: 'float16', requiresGrad: true });
      q.grad = half;
      const optQ = new SGD([q], { lr: 0.1 });
      assert.throws(() => scaler.step(optQ), /a gradient is float16; keep the parameters float32/);
      assert.throws(() => new GradScaler({ growthFactor: 1 }), /option growthFactor must be a finite number > 1, got 1/);
      assert.throws(() => new GradScaler({ init_scale: 2 } as never), /unknown option init_scale/);
      for (const o of [opt, optQ]) o.dispose();
      for (const t of [p, q, half]) t.dispose();
    }));

  test("state dict in PyTorch's layout restores scale and growth tracker", () =>
    noLeak(() => {
      const p = param([1]);
      const opt = new SGD([p], { lr: 0 });
      const scaler = new GradScaler({ initScale: 64, growthInterval: 5 });
      for (const g of [Infinity, 1, 1]) {
        setGrad(p, [g]);
        scaler.step(opt);
        scaler.update();
      }
      const state = JSON.parse(JSON.stringify(scaler.stateDict())) as unknown;
      assert.deepEqual(state, { scale: 32, growth_factor: 2, backoff_factor: 0.5, growth_interval: 5, _growth_tracker: 2 });
      const resumed = new GradScaler();
      resumed.loadStateDict(state as never);
      assert.deepEqual(resumed.stateDict(), state);
      assert.throws(() => resumed.loadStateDict({}), /the state is empty, probably saved from a disabled GradScaler/);
      assert.throws(() => new GradScaler({ enabled: false }).loadStateDict(state as never), /this scaler is disabled/);
      opt.dispose();
      p.dispose();
    }));

  test('disabled: scale() passes the loss through and step() always steps', () =>
    noLeak(() => {
      const p = param([1]);
      const opt = new SGD([p], { lr: 0.5 });
      const scaler = new GradScaler({ enabled: false });
      const loss = tensor(2);
      const same = scaler.scale(loss);
      assert.equal(same.item(), 2);
      same.dispose(); // a new handle: the loss stays usable
      assert.equal(loss.item(), 2);
      loss.dispose();
      setGrad(p, [1]);
      scaler.unscale_(opt);
      assert.equal(scaler.step(opt), true);
      scaler.update();
      assert.deepEqual(values(p), [0.5]);
      assert.equal(scaler.getScale(), 1);
      assert.deepEqual(scaler.stateDict(), {});
      opt.dispose();
      p.dispose();
    }));
});
