// clipGradNorm_ / clipGradValue_ against torch.nn.utils (test/fixtures/optim/gen_clip.py): the
// returned norm and the clipped gradients for p = 1, 2, 3.5, inf, with and without clipping,
// parameters without gradients, NaN/Inf gradients; errors; no leaked native tensors.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../paths.js';
import { tensor, tidy, zeros, type Tensor } from '../../src/torch/index.js';
import { clipGradNorm_, clipGradValue_ } from '../../src/optim/index.js';
import { noLeak } from './no-leak.js';

type Value = number | 'nan' | 'inf' | '-inf';
interface Base {
  name: string;
  shapes: number[][];
  grads: (Value[] | null)[];
  clipped: (Value[] | null)[];
}
interface NormCase extends Base {
  maxNorm: number;
  normType: number | 'inf';
  totalNorm: Value;
}
interface ValueCase extends Base {
  clipValue: number;
}
const fx = JSON.parse(readFileSync(fixture('optim', 'clip.json'), 'utf8')) as { norm: NormCase[]; value: ValueCase[] };

const num = (v: Value): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);

function makeParams(c: Base): Tensor[] {
  return c.shapes.map((shape, i) => {
    const p = zeros(shape, { requiresGrad: true });
    const g = c.grads[i];
    if (g) {
      const t = tensor(Float32Array.from(g.map(num)), { shape });
      p.grad = t;
      t.dispose();
    }
    return p;
  });
}

/** Same float32 value, NaN included; finite values within 2 float32 ulps (norms are reductions). */
function assertValues(actual: number[], expected: Value[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  expected.forEach((ev, i) => {
    const e = Math.fround(num(ev));
    const a = actual[i]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) assert.ok(Object.is(a, e), `${what}[${i}]: got ${a}, PyTorch ${e}`);
    else assert.ok(Math.abs(a - e) <= 2.4e-7 * Math.abs(e), `${what}[${i}]: got ${a}, PyTorch ${e}`);
  });
}

function checkGrads(params: Tensor[], c: Base): void {
  params.forEach((p, i) => {
    const g = p.grad;
    const expected = c.clipped[i];
    if (expected === null) assert.equal(g, undefined, `${c.name}: param ${i} must stay without a gradient`);
    else assertValues(g!.toArray(), expected!, `${c.name} grad ${i}`);
    g?.dispose();
  });
}

describe('clipGradNorm_ matches torch.nn.utils.clip_grad_norm_', () => {
  for (const c of fx.norm) {
    test(c.name, () =>
      noLeak(() => {
        const params = makeParams(c);
        const total = clipGradNorm_(params, c.maxNorm, num(c.normType));
        assert.deepEqual(total.shape, []);
        assertValues([total.item()], [c.totalNorm], `${c.name} total norm`);
        checkGrads(params, c);
        total.dispose();
        for (const p of params) p.dispose();
      }));
  }

  test('a single tensor and an iterable are accepted; no gradients at all gives 0', () =>
    noLeak(() => {
      const p = zeros([2], { requiresGrad: true });
      const g = tensor([3, 4]);
      p.grad = g;
      tidy(() => {
        assert.ok(Math.abs(clipGradNorm_(p, 1).item() - 5) < 1e-6);
        assert.deepEqual(g.toArray().map((x) => Math.round(x * 1e5) / 1e5), [0.6, 0.8]);
        assert.ok(Math.abs(clipGradNorm_(new Set([p]), 10).item() - 1) < 1e-5); // not clipped again
        const q = zeros([2], { requiresGrad: true });
        assert.equal(clipGradNorm_([q], 1).item(), 0);
      });
      g.dispose();
      p.dispose();
    }));

  test('errorIfNonfinite throws on a NaN/Inf norm and leaves the gradients alone', () =>
    noLeak(() => {
      const c = fx.norm.find((x) => x.name === 'l2_nan')!;
      const params = makeParams(c);
      assert.throws(() => clipGradNorm_(params, 1, 2, true), /clipGradNorm_: the total norm of order 2 of the gradients is non-finite \(NaN\)/);
      const g = params[1]!.grad!;
      assertValues(g.toArray(), c.grads[1]!, 'untouched grad');
      g.dispose();
      for (const p of params) p.dispose();
    }));

  test('bad arguments are named', () => {
    const p = zeros([1], { requiresGrad: true });
    assert.throws(() => clipGradNorm_([p], -1), /maxNorm must be a number >= 0, got -1/);
    assert.throws(() => clipGradNorm_([p], 1, 0), /normType must be a number > 0 or Infinity, got 0/);
    assert.throws(() => clipGradValue_([p], NaN), /clipValue must be a number >= 0, got NaN/);
    p.dispose();
  });
});

describe('clipGradValue_ matches torch.nn.utils.clip_grad_value_', () => {
  for (const c of fx.value) {
    test(c.name, () =>
      noLeak(() => {
        const params = makeParams(c);
        clipGradValue_(params, c.clipValue);
        checkGrads(params, c);
        for (const p of params) p.dispose();
      }));
  }
});
