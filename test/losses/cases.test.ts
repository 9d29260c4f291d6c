// Hand-derived cases for the losses: values worked out on paper, perfect predictions giving 0,
// all-ignored batches giving 0 (not NaN) with zero gradients, extreme logits (±1e4) giving finite
// losses and gradients, identities between losses (focal with γ = 0 is CE/BCE, Tversky with
// α = β = 0.5 is Dice), the exact distance transform against brute force, and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import * as L from '../../src/losses/index.js';
import { manualSeed, randint, randn, tensor, tidy, type Tensor } from '../../src/torch/index.js';

checkLeaksEachTest();

type Loss = (x: Tensor, y: Tensor, o?: { ignoreIndex?: number }) => Tensor;
const MULTI: Record<string, Loss> = {
  crossEntropyLoss: L.crossEntropyLoss, focalLoss: L.focalLoss, diceLoss: L.diceLoss, tverskyLoss: L.tverskyLoss,
  lovaszSoftmaxLoss: L.lovaszSoftmaxLoss, boundaryLoss: L.boundaryLoss,
};
const BINARY: Record<string, Loss> = {
  bceWithLogitsLoss: L.bceWithLogitsLoss, binaryFocalLoss: L.binaryFocalLoss, binaryDiceLoss: L.binaryDiceLoss,
  binaryTverskyLoss: L.binaryTverskyLoss, lovaszHingeLoss: L.lovaszHingeLoss, binaryBoundaryLoss: L.binaryBoundaryLoss,
};

/** Value and gradient w.r.t. x of loss(x); everything else disposed. */
function valueAndGrad(x: Tensor, loss: (x: Tensor) => Tensor): { value: number; grad: number[] } {
  const leaf = x.detach().requiresGrad_(true);
  const l = loss(leaf);
  const value = l.item();
  l.backward();
  const g = leaf.grad!; // each .grad read is a new handle
  const grad = g.toArray();
  g.dispose();
  l.dispose();
  leaf.dispose();
  return { value, grad };
}

const close = (a: number, b: number, what: string, tol = 1e-6): void =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** Random multi-class and binary batches (N=2, C=4, 5×6) with some 255 pixels. */
function batch(): { x: Tensor; y: Tensor; xb: Tensor; yb: Tensor } {
  manualSeed(3);
  return tidy(() => {
    const ignore = randint(0, 8, [2, 5, 6]).eq(0);
    return {
      x: randn([2, 4, 5, 6]).mul(2),
      y: randint(0, 4, [2, 5, 6]).where(ignore.logicalNot(), 255),
      xb: randn([2, 1, 5, 6]).mul(2),
      yb: randint(0, 2, [2, 5, 6]).where(ignore.logicalNot(), 255),
    };
  });
}
const disposeAll = (o: Record<string, Tensor>): void => Object.values(o).forEach((t) => t.dispose());

test('hand-computed single-pixel values: CE, focal, binary focal with α, BCE with posWeight', () => {
  const x = tensor([[[[0]], [[Math.log(3)]]]]); // (1, 2, 1, 1)
  const y = tensor([[[1]]], { dtype: 'int64' });
  const xb = tensor([[[[0]]]]);
  const v = (t: Tensor): number => { const r = t.item(); t.dispose(); return r; };
  close(v(L.crossEntropyLoss(x, y)), -Math.log(3 / 4), 'CE');
  close(v(L.focalLoss(x, y)), -((1 / 4) ** 2) * Math.log(3 / 4), 'focal γ=2: -(1 - 3/4)² log 3/4');
  close(v(L.binaryFocalLoss(xb, y, { alpha: 0.25 })), 0.25 * 0.5 ** 2 * Math.log(2), 'binary focal: α·(1/2)²·log 2');
  close(v(L.bceWithLogitsLoss(xb, y, { posWeight: 3 })), 3 * Math.log(2), 'BCE with posWeight 3');
  for (const t of [x, y, xb]) t.dispose();
});

test('hand-computed Dice and Tversky: two pixels at p = 1/2, targets 1 and 0', () => {
  const x = tensor([[[[0, 0]]]]);
  const y = tensor([[[1, 0]]], { dtype: 'int64' });
  const v = (t: Tensor): number => { const r = t.item(); t.dispose(); return r; };
  // TP = 1/2, FP = 1/2, FN = 1/2: dice = 2·TP / (P + T) = 1/2; Tversky(α=1, β=0) = TP / (TP + FP) = 1/2.
  close(v(L.binaryDiceLoss(x, y)), 0.5, 'binary dice');
  close(v(L.binaryTverskyLoss(x, y, { alpha: 0.2, beta: 0.6 })), 1 - 0.5 / (0.5 + 0.1 + 0.3), 'binary tversky');
  close(v(L.binaryDiceLoss(x, y, { smooth: 1 })), 1 - 2 / 3, 'binary dice, smooth 1: (1 + 1) / (2 + 1)');
  for (const t of [x, y]) t.dispose();
});

test('hand-computed boundary loss: a 1×5 image [0 0 1 1 1] predicted perfectly gives -0.4', () => {
  // φ_0 = [-1, 0, 1, 2, 3], φ_1 = [2, 1, 0, -1, -2]; Σ p·φ = (-1 + 0) + (0 - 1 - 2) = -4 over 2 classes × 5 pixels.
  const y = tensor([[[0, 0, 1, 1, 1]]], { dtype: 'int64' });
  const x = tensor([[[[1, 1, -1, -1, -1]], [[-1, -1, 1, 1, 1]]]]).mul_(1e4);
  const l = L.boundaryLoss(x, y);
  close(l.item(), -0.4, 'boundary');
  const phi = L.signedDistanceMaps(y, 2);
  assert.deepEqual(Array.from(phi), [-1, 0, 1, 2, 3, 2, 1, 0, -1, -2]);
  for (const t of [x, y, l]) t.dispose();
});

test('a perfect prediction gives 0 for Dice, Tversky, Lovász, CE, focal and BCE (logits ±1e4)', () => {
  const { x, y, xb, yb } = batch();
  const [perfect, perfectB] = tidy(() => [
    y.where(y.ne(255), 0).oneHot(4).permute(0, 3, 1, 2).to('float32').mul(2e4).sub(1e4),
    yb.eq(1).unsqueeze(1).to('float32').mul(2e4).sub(1e4),
  ]);
  for (const [name, f] of Object.entries({ ...MULTI, ...BINARY })) {
    if (name.toLowerCase().includes('boundary')) continue;
    const binary = name in BINARY;
    const l = f(binary ? perfectB : perfect, binary ? yb : y, { ignoreIndex: 255 });
    assert.equal(l.item(), 0, `${name} of a perfect prediction`);
    l.dispose();
  }
  disposeAll({ x, y, xb, yb, perfect, perfectB });
});

test('an all-ignored batch gives 0, not NaN, and zero gradients, for every loss', () => {
  const { x, y, xb, yb } = batch();
  const [void4, void1] = tidy(() => [y.mul(0).add(255), yb.mul(0).add(255)]);
  for (const [name, f] of Object.entries({ ...MULTI, ...BINARY })) {
    const binary = name in BINARY;
    const { value, grad } = valueAndGrad(binary ? xb : x, (z) => f(z, binary ? void1 : void4, { ignoreIndex: 255 }));
    assert.equal(value, 0, `${name} of an all-ignored batch`);
    assert.ok(grad.every((g) => g === 0), `${name}: gradients of an all-ignored batch are 0`);
  }
  disposeAll({ x, y, xb, yb, void4, void1 });
});

test('extreme logits (±1e4) give a finite loss and finite gradients for every loss (report 002 hit NaN in focal)', () => {
  const { x, y, xb, yb } = batch();
  const [ex, exb] = tidy(() => [x.sign().mul(1e4), xb.sign().mul(1e4)]);
  for (const [name, f] of Object.entries({ ...MULTI, ...BINARY })) {
    const binary = name in BINARY;
    for (const gamma of [2, 0.5]) {
      const { value, grad } = valueAndGrad(binary ? exb : ex, (z) => (f as (x: Tensor, y: Tensor, o: object) => Tensor)(z, binary ? yb : y, { ignoreIndex: 255, gamma }));
      assert.ok(Number.isFinite(value), `${name}: loss ${value}`);
      assert.ok(grad.every(Number.isFinite), `${name}: a non-finite gradient`);
    }
  }
  // The wrong class at 1e4 costs about 2e4 nats; focal keeps that (its factor is 1 there).
  const { value } = valueAndGrad(ex, (z) => L.focalLoss(z, y, { ignoreIndex: 255 }));
  assert.ok(value > 1000, `focal of confidently wrong logits is large (${value})`);
  disposeAll({ x, y, xb, yb, ex, exb });
});

test('focal with γ = 0 is cross-entropy (weighted too) and binary focal with γ = 0 is BCE', () => {
  const { x, y, xb, yb } = batch();
  const w = [0.5, 1, 2, 1.5];
  const pairs: [string, () => Tensor, () => Tensor][] = [
    ['focal/CE', () => L.focalLoss(x, y, { gamma: 0, ignoreIndex: 255 }), () => L.crossEntropyLoss(x, y, { ignoreIndex: 255 })],
    ['weighted focal/CE', () => L.focalLoss(x, y, { gamma: 0, ignoreIndex: 255, classWeights: w }), () => L.crossEntropyLoss(x, y, { ignoreIndex: 255, classWeights: w })],
    ['binary focal/BCE', () => L.binaryFocalLoss(xb, yb, { gamma: 0, ignoreIndex: 255 }), () => L.bceWithLogitsLoss(xb, yb, { ignoreIndex: 255 })],
    ['tversky(0.5, 0.5)/dice', () => L.tverskyLoss(x, y, { ignoreIndex: 255 }), () => L.diceLoss(x, y, { ignoreIndex: 255 })],
  ];
  for (const [what, a, b] of pairs) {
    const [va, vb] = tidy(() => [a().item(), b().item()]);
    close(va, vb, what, 1e-6);
  }
  disposeAll({ x, y, xb, yb });
});

test('distance transform: exact Euclidean distances, against brute force on random masks', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const [h, w, p] of [[9, 13, 0.1], [16, 5, 0.4], [1, 12, 0.2], [12, 1, 0.2], [6, 6, 0.9]]) {
    const m = Uint8Array.from({ length: h * w }, () => (rnd() < p ? 1 : 0));
    if (!m.includes(1)) m[0] = 1;
    const d = L.distanceToSet(m, h, w);
    for (let i = 0; i < h * w; i++) {
      let best = Infinity;
      for (let j = 0; j < h * w; j++) if (m[j]) best = Math.min(best, Math.hypot(Math.floor(i / w) - Math.floor(j / w), (i % w) - (j % w)));
      assert.ok(Math.abs(d[i] - best) < 1e-12, `${h}×${w} pixel ${i}: ${d[i]} vs ${best}`);
    }
  }
  assert.ok(L.distanceToSet(new Uint8Array(6), 2, 3).every((v) => v === Infinity), 'empty set: Infinity');
  assert.deepEqual(Array.from(L.signedDistance(new Uint8Array([1, 1, 1, 1]), 2, 2)), [0, 0, 0, 0], 'a region covering everything: 0');
});

test('errors name the shapes, dtypes and values that are wrong', () => {
  const { x, y, xb, yb } = batch();
  const [yInt, yBad, y2, x2] = tidy(() => [y.int(), yb.where(yb.ne(1), 2), y.slice(1, 0, 4), x.slice(1, 0, 2)]);
  const cases: [() => Tensor, RegExp][] = [
    [() => L.diceLoss(x, y2), /target must be class ids of shape \(N, H, W\) = \[2,5,6\].*got \[2,4,6\]/],
    [() => L.crossEntropyLoss(x, yInt), /int64 class ids; got int32 \(use target.long\(\)\)/],
    [() => L.focalLoss(x, y, { classWeights: [1, 2] }), /2 class weights given for 4 classes/],
    [() => L.binaryDiceLoss(xb, yBad, { ignoreIndex: 255 }), /only 0, 1 or the ignore index 255/],
    [() => L.bceWithLogitsLoss(x2, yb), /one channel \(N, 1, H, W\).*two-class softmax output use the multi-class loss/],
    [() => L.focalLoss(x, y, { gamma: -1 }), /gamma must be ≥ 0; got -1/],
    [() => L.crossEntropyLoss(x, y, { labelSmoothing: 2 }), /labelSmoothing must lie in \[0, 1\]; got 2/],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
  disposeAll({ x, y, xb, yb, yInt, yBad, y2, x2 });
});

test('half-precision logits (bfloat16, float16) are computed in float32: same value as float32 logits of the same numbers', () => {
  const { x, y, xb, yb } = batch();
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const [h, hb] = tidy(() => [x.to(dtype), xb.to(dtype)]);
    const [f, fb] = tidy(() => [h.float(), hb.float()]);
    for (const [name, fn] of Object.entries({ ...MULTI, ...BINARY })) {
      const binary = name in BINARY;
      const [lh, lf] = tidy(() => [fn(binary ? hb : h, binary ? yb : y, { ignoreIndex: 255 }), fn(binary ? fb : f, binary ? yb : y, { ignoreIndex: 255 })]);
      assert.equal(lh.dtype, 'float32', `${name}: the loss is float32`);
      close(lh.item(), lf.item(), `${name} (${dtype})`, 1e-6);
      const leaf = (binary ? hb : h).detach().requiresGrad_(true);
      const l = fn(leaf, binary ? yb : y, { ignoreIndex: 255 });
      l.backward();
      const g = leaf.grad!;
      assert.equal(g.dtype, dtype, `${name}: the gradient reaches the ${dtype} logits`);
      for (const t of [lh, lf, leaf, l, g]) t.dispose();
    }
    disposeAll({ h, hb, f, fb });
  }
  disposeAll({ x, y, xb, yb });
});
