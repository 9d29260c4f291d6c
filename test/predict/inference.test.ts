// Sliding-window and test-time-augmented inference: windows cover the image and average where they
// overlap (a pointwise model gives the whole-image result exactly), flips are undone, scales are
// resized back, probabilities are averaged; any Forward (arrays and a Promise, as ONNX Runtime)
// predicts as the Module; nothing leaks, also when a forward pass fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { Conv2d, Sequential } from '../../src/nn/index.js';
import { create } from '../../src/models/index.js';
import { predictProbabilities, slidingWindowLogits, windowStarts, type FlipMode } from '../../src/predict/inference.js';
import type { Forward } from '../../src/predict/forward.js';
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

test('a pointwise model gives the same logits by sliding windows as on the whole image', async () => {
  torch.manualSeed(0);
  const model = new Sequential(new Conv2d(3, 4, 1)).eval();
  const x = torch.randn([2, 3, 37, 53]);
  const whole = torch.inferenceMode(() => model.call(x));
  for (const window of [{ size: 16, overlap: 0.5 }, { size: [20, 9] as [number, number], overlap: 0 }, { size: 7, overlap: 0.9 }]) {
    const got = await slidingWindowLogits(model, x, window);
    assert.ok(maxDiff(got, whole) < 1e-5, JSON.stringify(window)); // sums of up to 49 overlaps
    got.dispose();
  }
  // a window no smaller than the image: one pass, the model's own output
  const one = await slidingWindowLogits(model, x, { size: 64 });
  assert.equal(maxDiff(one, whole), 0);
  for (const t of [one, whole, x]) t.dispose();
  model.dispose();
});

test('flip and scales: the average of each pass\'s probabilities, flipped back and resized to the input', async () => {
  torch.manualSeed(1);
  const model = new Sequential(new Conv2d(3, 5, 3, { padding: 1 })).eval();
  const x = torch.randn([1, 3, 20, 30]);
  const got = await predictProbabilities(model, x, { scales: [0.5, 1], flip: true });
  torch.inferenceMode(() => torch.tidy(() => {
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
  got.dispose();
  x.dispose();
  model.dispose();
});

test('flip directions: vertical mirrors the rows, both averages the four mirrors, true is horizontal', async () => {
  torch.manualSeed(3);
  const model = new Sequential(new Conv2d(3, 4, 3, { padding: 1 })).eval();
  const x = torch.randn([1, 3, 12, 17]);
  const mirror = (dims: number[]) => (t: torch.Tensor): torch.Tensor => torch.op('flip', t, dims);
  const pass = (dims: number[]) => (dims.length ? mirror(dims)(model.call(mirror(dims)(x))) : model.call(x)).softmax(1);
  const cases: Array<[FlipMode, number[][]]> = [[true, [[], [3]]], ['horizontal', [[], [3]]], ['vertical', [[], [2]]], ['both', [[], [3], [2], [2, 3]]]];
  for (const [flip, passes] of cases) {
    const got = await predictProbabilities(model, x, { flip });
    torch.inferenceMode(() => torch.tidy(() => {
      const expected = passes.map(pass).reduce((a, b) => a.add(b)).div(passes.length);
      assert.ok(maxDiff(got, expected) < 1e-6, `${flip}: max diff ${maxDiff(got, expected)}`);
    }));
    got.dispose();
  }
  x.dispose();
  model.dispose();
});

test('a one-channel (binary) model gives sigmoid probabilities; a model returning { out } works with windows', async () => {
  torch.manualSeed(2);
  const binary = new Sequential(new Conv2d(3, 1, 1)).eval();
  const unet = create('unet', { numClasses: 3, baseWidth: 4, depth: 2 }).eval();
  const x = torch.randn([1, 3, 24, 40]);
  const p = await predictProbabilities(binary, x, { flip: true });
  const q = await predictProbabilities(unet, x, { window: { size: 16, overlap: 0.5 } });
  const whole = await predictProbabilities(unet, x, { window: { size: 64 } });
  torch.inferenceMode(() => torch.tidy(() => {
    assert.deepEqual(p.shape, [1, 1, 24, 40]);
    assert.ok(maxDiff(p, binary.call(x).sigmoid()) < 1e-6, 'a pointwise model is unchanged by flipping');
    assert.deepEqual(q.shape, [1, 3, 24, 40]);
    assert.equal(maxDiff(whole, (unet.call(x) as { out: torch.Tensor }).out.softmax(1)), 0);
  }));
  for (const t of [p, q, whole, x]) t.dispose();
  binary.dispose();
  unet.dispose();
});

test('any forward function predicts as the Module it wraps; a failing forward leaks nothing', async () => {
  torch.manualSeed(4);
  const model = new Sequential(new Conv2d(3, 4, 3, { padding: 1 })).eval();
  const x = torch.randn([1, 3, 21, 34]);
  const opts = { scales: [0.75, 1], flip: true, window: { size: 16, overlap: 0.25 } };
  // a Forward that goes through plain arrays and a Promise, as ONNX Runtime does
  const viaArrays: Forward = async (t) => {
    const y = torch.inferenceMode(() => model.call(t));
    const data = y.data() as Float32Array;
    const shape = y.shape;
    y.dispose();
    await new Promise((r) => setImmediate(r));
    return torch.tensor(data, { shape });
  };
  const a = await predictProbabilities(model, x, opts);
  const b = await predictProbabilities(viaArrays, x, opts);
  assert.equal(maxDiff(a, b), 0);
  let calls = 0;
  const failing: Forward = (t) => (++calls === 3 ? Promise.reject(new Error('session closed')) : viaArrays(t));
  await assert.rejects(predictProbabilities(failing, x, opts), /session closed/);
  for (const t of [a, b, x]) t.dispose();
  model.dispose();
});

test('bad options are refused with the value', async () => {
  const model = new Sequential(new Conv2d(3, 2, 1)).eval();
  const x = torch.randn([1, 3, 8, 8]);
  await assert.rejects(predictProbabilities(model, x, { scales: [] }), /scales must be positive numbers, got \[\]/);
  await assert.rejects(predictProbabilities(model, x, { scales: [1, -0.5] }), /got \[1, -0.5\]/);
  await assert.rejects(slidingWindowLogits(model, x, { size: 4, overlap: 1 }), /overlap must be in \[0, 1\), got 1/);
  x.dispose();
  model.dispose();
});
