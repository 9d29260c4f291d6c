// roiAlign against torchvision 0.14 (gen_detection.py): outputs and the gradient w.r.t. the input
// (for an upstream gradient (i mod 7) − 3) within 1e-5, with adaptive and fixed sampling, aligned
// or not, several scales, and boxes partly or wholly outside the map, zero-area and inverted; the
// forward without a gradient (native/detection.cc's kernel) on NCHW and channels-last input too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import { arange, tensor, tidy, zeros } from '../../src/torch/index.js';
import { roiAlign } from '../../src/detection/index.js';
import { assertNear, cases, load, maxError } from './fixture.js';

checkLeaksEachTest();

for (const c of cases.filter((c) => c.kind === 'roiAlign')) {
  test(`roiAlign ${c.name}: output and input gradient match torchvision`, () => {
    tidy(() => {
      const dtype = c.dtype!;
      const x = load('roi/input').to(dtype).requiresGrad_(true);
      const rois = load(c.rois ?? 'roi/rois').to(dtype);
      const y = roiAlign(x, rois, c.outputSize!, { spatialScale: c.spatialScale, samplingRatio: c.samplingRatio, aligned: c.aligned });
      assert.equal(y.dtype, dtype);
      assertNear(y, `${c.name}/output`);
      const upstream = arange(y.numel, undefined, 1, { dtype: 'int64' }).remainder(7).sub(3).to(dtype).reshape(y.shape);
      y.backward(upstream);
      assertNear(x.grad!, `${c.name}/grad`);
      x.grad!.dispose();
      // no gradient wanted: the native forward kernel, on the map as it lies and channels-last
      const opts = { spatialScale: c.spatialScale, samplingRatio: c.samplingRatio, aligned: c.aligned };
      const plain = x.detach();
      assertNear(roiAlign(plain, rois, c.outputSize!, opts), `${c.name}/output`);
      assertNear(roiAlign(plain.contiguous('channels_last'), rois, c.outputSize!, opts), `${c.name}/output`);
    });
  });
}

test('boxes as one (L, 4) tensor per image equal the (K, 5) form', () => {
  tidy(() => {
    const x = load('roi/input');
    const rois = load('roi/rois');
    const perImage = [0, 1].map((b) => {
      const rows = rois.select(1, 0).eq(b).toArray().flatMap((m, i) => (m ? [i] : []));
      return rois.indexSelect(0, tensor(rows, { dtype: 'int64' })).slice(1, 1, 5);
    });
    const reordered = tensor([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], { dtype: 'int64' });
    const a = roiAlign(x, perImage, 3, { spatialScale: 0.5, samplingRatio: 2 });
    const b = roiAlign(x, rois.indexSelect(0, reordered), 3, { spatialScale: 0.5, samplingRatio: 2 });
    assert.equal(maxError(a, b), 0);
  });
});

test('no boxes give a (0, C, h, w) output and a zero gradient', () => {
  tidy(() => {
    const x = load('roi/input').requiresGrad_(true);
    const y = roiAlign(x, zeros([0, 5]), [2, 3]);
    assert.deepEqual(y.shape, [0, 2, 2, 3]);
    y.sum().backward();
    assert.equal(x.grad!.abs().sum().item(), 0);
    x.grad!.dispose();
  });
});

test('a bfloat16 input is pooled in float32 and comes back as bfloat16 (autocast), with float32 boxes', () => {
  tidy(() => {
    const x = load('roi/input');
    const rois = load('roi/rois');
    const half = roiAlign(x.to('bfloat16'), rois, 3, { samplingRatio: 2 });
    assert.equal(half.dtype, 'bfloat16');
    const full = roiAlign(x.to('bfloat16').float(), rois, 3, { samplingRatio: 2 });
    assert.equal(maxError(half.float(), full.to('bfloat16').float()), 0);
  });
});

test('bad boxes are refused with what to pass', () => {
  tidy(() => {
    const x = load('roi/input');
    assert.throws(() => roiAlign(x, zeros([3, 4]), 2), /\(K, 5\) tensor of \(batch index, x1, y1, x2, y2\).*got shape \[3,4\]/);
    assert.throws(() => roiAlign(x, zeros([1, 5], { dtype: 'float64' }), 2), /same dtype.*\.to\('float32'\)/);
    assert.throws(() => roiAlign(x, tensor([[5, 0, 0, 1, 1]]), 2), /batch index 5, outside the input's batch of 2/);
    assert.throws(() => roiAlign(x.select(0, 0), zeros([1, 5]), 2), /input must be \(N, C, H, W\)/);
  });
});
