// Sliding-window and test-time-augmented inference: windows cover the image and average where they
// overlap (a pointwise model gives the whole-image result exactly), flips are undone, scales are
// resized back, probabilities are averaged; nothing leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { Conv2d, Sequential } from '../../src/nn/index.js';
import { create } from '../../src/models/index.js';
import { predictProbabilities, slidingWindowLogits, windowStarts } from '../../src/predict/inference.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());
const flipW = (t: torch.Tensor): torch.Tensor => torch.op('flip', t, [3]);

test('windows start at the stride and the last one ends flush with the image', () => {
  assert.deepEqual(windowStarts(10, 4, 3), [0, 3, 6]);
  assert.deepEqual(windowStarts(5, 4, 2), [0, 1]);
  assert.deepEqual(windowStarts(12, 4, 4), [0, 4, 8]);
  assert.deepEqual(windowStarts(3, 4, 2), [0]);
});

test('a pointwise model gives the same logits by sliding windows as on the whole image', () => {
  torch.manualSeed(0);
  const model = new Sequential(new Conv2d(3, 4, 1)).eval();
  const x = torch.randn([2, 3, 37, 53]);
  torch.inferenceMode(() => torch.tidy(() => {
    const whole = model.call(x);
    for (const window of [{ size: 16, overlap: 0.5 }, { size: [20, 9] as [number, number], overlap: 0 }, { size: 7, overlap: 0.9 }]) {
      assert.ok(maxDiff(slidingWindowLogits(model, x, window), whole) < 1e-5, JSON.stringify(window)); // sums of up to 49 overlaps
    }
    // a window no smaller than the image: one pass, the model's own output
    assert.equal(maxDiff(slidingWindowLogits(model, x, { size: 64 }), whole), 0);
  }));
  x.dispose();
  model.dispose();
});

test('flip and scales: the average of each pass\'s probabilities, flipped back and resized to the input', () => {
  torch.manualSeed(1);
  const model = new Sequential(new Conv2d(3, 5, 3, { padding: 1 })).eval();
  const x = torch.randn([1, 3, 20, 30]);
  torch.inferenceMode(() => torch.tidy(() => {
    const got = predictProbabilities(model, x, { scales: [0.5, 1], flip: true });
    const half = torch.F.interpolate(x, { size: [10, 15], mode: 'bilinear', alignCorners: false });
    const up = (t: torch.Tensor) => torch.F.interpolate(t, { size: [20, 30], mode: 'bilinear', alignCorners: false });
    const expected = up(model.call(half)).softmax(1)
      .add(up(flipW(model.call(flipW(half)))).softmax(1))
      .add(model.call(x).softmax(1))
      .add(flipW(model.call(flipW(x))).softmax(1))
      .div(4);
    assert.ok(maxDiff(got, expected) < 1e-6, `max diff ${maxDiff(got, expected)}`);
    assert.ok(maxDiff(got.sum(1), torch.ones([1, 20, 30])) < 1e-5, 'probabilities sum to 1 over classes');
  }));
  x.dispose();
  model.dispose();
});

test('a one-channel (binary) model gives sigmoid probabilities; a model returning { out } works with windows', () => {
  torch.manualSeed(2);
  const binary = new Sequential(new Conv2d(3, 1, 1)).eval();
  const unet = create('unet', { numClasses: 3, baseWidth: 4, depth: 2 }).eval();
  const x = torch.randn([1, 3, 24, 40]);
  torch.inferenceMode(() => torch.tidy(() => {
    const p = predictProbabilities(binary, x, { flip: true });
    assert.deepEqual(p.shape, [1, 1, 24, 40]);
    assert.ok(maxDiff(p, binary.call(x).sigmoid()) < 1e-6, 'a pointwise model is unchanged by flipping');
    const q = predictProbabilities(unet, x, { window: { size: 16, overlap: 0.5 } });
    assert.deepEqual(q.shape, [1, 3, 24, 40]);
    const whole = predictProbabilities(unet, x, { window: { size: 64 } });
    assert.equal(maxDiff(whole, (unet.call(x) as { out: torch.Tensor }).out.softmax(1)), 0);
  }));
  x.dispose();
  binary.dispose();
  unet.dispose();
});

test('bad options are refused with the value', () => {
  const model = new Sequential(new Conv2d(3, 2, 1)).eval();
  const x = torch.randn([1, 3, 8, 8]);
  assert.throws(() => predictProbabilities(model, x, { scales: [] }), /scales must be positive numbers, got \[\]/);
  assert.throws(() => predictProbabilities(model, x, { scales: [1, -0.5] }), /got \[1, -0.5\]/);
  assert.throws(() => slidingWindowLogits(model, x, { size: 4, overlap: 1 }), /overlap must be in \[0, 1\), got 1/);
  x.dispose();
  model.dispose();
});
