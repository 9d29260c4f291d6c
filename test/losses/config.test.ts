// buildLoss from a config spec: defaults, the sigmoid (one channel) and softmax forms, a plain
// tensor or { out, aux } output, term values for logging, and zod errors that name the bad key
// and list the valid ones. Values of the sum against the reference are in reference.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import * as L from '../../src/losses/index.js';
import { manualSeed, randint, randn, tidy, type Tensor } from '../../src/torch/index.js';

checkLeaksEachTest();

const item = (t: Tensor): number => { const v = t.item(); t.dispose(); return v; };

test('defaults are filled in: softmax output, auxWeight 0.5, weight 1, focal gamma 2, dice over present classes', () => {
  const spec = L.parseLossSpec({ terms: [{ name: 'focal' }, { name: 'dice' }] });
  assert.deepEqual(spec, {
    output: 'softmax', auxWeight: 0.5,
    terms: [{ name: 'focal', weight: 1, gamma: 2 }, { name: 'dice', weight: 1, smooth: 0, classes: 'present' }],
  });
});

test('softmax spec: total is the weighted sum of the terms, aux weighted by auxWeight; terms are numbers', () => {
  manualSeed(1);
  const [x, aux, y] = tidy(() => [randn([2, 3, 4, 5]), randn([2, 3, 4, 5]), randint(0, 3, [2, 4, 5]).long()]);
  const loss = L.buildLoss({ terms: [{ name: 'ce', weight: 1, labelSmoothing: 0.1 }, { name: 'lovasz', weight: 0.25 }, { name: 'tversky', weight: 2, alpha: 0.3, beta: 0.7 }], auxWeight: 0.4 });
  const plain = loss(x, y);
  const ce = item(L.crossEntropyLoss(x, y, { labelSmoothing: 0.1 }));
  const lov = item(L.lovaszSoftmaxLoss(x, y));
  const tv = item(L.tverskyLoss(x, y, { alpha: 0.3, beta: 0.7 }));
  assert.deepEqual(Object.keys(plain.terms), ['ce', 'lovasz', 'tversky']);
  assert.ok(Math.abs(plain.terms.ce - ce) < 1e-7 && Math.abs(plain.terms.lovasz - lov) < 1e-7 && Math.abs(plain.terms.tversky - tv) < 1e-7);
  assert.ok(Math.abs(item(plain.total) - (ce + 0.25 * lov + 2 * tv)) < 1e-5);
  const both = loss({ out: x, aux }, y);
  assert.deepEqual(Object.keys(both.terms), ['ce', 'lovasz', 'tversky', 'aux.ce', 'aux.lovasz', 'aux.tversky']);
  const auxSum = both.terms['aux.ce'] + 0.25 * both.terms['aux.lovasz'] + 2 * both.terms['aux.tversky'];
  assert.ok(Math.abs(item(both.total) - (ce + 0.25 * lov + 2 * tv + 0.4 * auxSum)) < 1e-5);
  for (const t of [x, aux, y]) t.dispose();
});

test('sigmoid spec: binary one-channel logits with bce, dice, focal (alpha), lovasz (hinge), boundary; ignore index honoured', () => {
  manualSeed(2);
  const [x, y] = tidy(() => [randn([2, 1, 6, 6]), randint(0, 2, [2, 6, 6]).long().where(randint(0, 6, [2, 6, 6]).ne(0), 255)]);
  const loss = L.buildLoss({
    output: 'sigmoid', ignoreIndex: 255,
    terms: [{ name: 'bce', posWeight: 2 }, { name: 'dice', weight: 0.5 }, { name: 'focal', alpha: 0.25 }, { name: 'lovasz' }, { name: 'boundary', weight: 0.1 }],
  });
  const r = loss({ out: x }, y);
  const want = {
    bce: item(L.bceWithLogitsLoss(x, y, { posWeight: 2, ignoreIndex: 255 })),
    dice: item(L.binaryDiceLoss(x, y, { ignoreIndex: 255 })),
    focal: item(L.binaryFocalLoss(x, y, { alpha: 0.25, ignoreIndex: 255 })),
    lovasz: item(L.lovaszHingeLoss(x, y, { ignoreIndex: 255 })),
    boundary: item(L.binaryBoundaryLoss(x, y, { ignoreIndex: 255 })),
  };
  assert.deepEqual(r.terms, want);
  const sum = want.bce + 0.5 * want.dice + want.focal + want.lovasz + 0.1 * want.boundary;
  assert.ok(Math.abs(item(r.total) - sum) < 1e-5);
  const two = randn([2, 2, 6, 6]);
  assert.throws(() => loss(two, y), /one channel \(N, 1, H, W\) for a sigmoid output.*two-class softmax/);
  for (const t of [x, y, two]) t.dispose();
});

test('invalid specs: errors name the bad key and list the valid names', () => {
  const bad: [unknown, RegExp][] = [
    [{ terms: [{ name: 'dise' }] }, /terms\[0\]\.name: "dise" is not a loss name; valid names: ce, bce, focal, dice, tversky, lovasz, boundary/],
    [{ terms: [{ name: 'focal', gama: 1 }] }, /terms\[0\]: unknown key 'gama'; valid keys: name, weight, gamma, alpha, classWeights/],
    [{ terms: [{ name: 'dice' }], ignore: 255 }, /\(top level\): unknown key 'ignore'; valid keys: output, ignoreIndex, auxWeight, terms/],
    [{ output: 'sigmoid', terms: [{ name: 'ce' }] }, /terms\[0\]\.name: 'ce' needs output 'softmax' \(this spec has 'sigmoid'\); use 'bce'/],
    [{ terms: [{ name: 'bce' }] }, /'bce' needs output 'sigmoid'.*use 'ce' for a softmax output \(two-class binary included\)/],
    [{ terms: [{ name: 'focal', alpha: 0.25 }] }, /terms\[0\]\.alpha: .*for a softmax output use 'classWeights'/],
    [{ terms: [{ name: 'dice' }, { name: 'dice', weight: 2 }] }, /terms\[1\]\.name: 'dice' appears twice/],
    [{ terms: [] }, /terms: Too small/],
    [{ output: 'binary', terms: [{ name: 'dice' }] }, /output: Invalid option: expected one of "softmax"\|"sigmoid"/],
    [{ terms: [{ name: 'dice', weight: -1 }] }, /terms\[0\]\.weight: Too small/],
  ];
  for (const [spec, re] of bad) assert.throws(() => L.buildLoss(spec as L.LossSpecInput), re, JSON.stringify(spec));
  assert.throws(() => L.buildLoss({ terms: [{ name: 'dise' as 'dice' }] }, 'configs/x.yaml: loss'), /^Error: configs\/x.yaml: loss is invalid:/);
});
