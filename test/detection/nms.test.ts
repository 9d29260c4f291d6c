// nms and batchedNms against torchvision 0.14 (gen_detection.py): the kept indices, in order,
// must be identical, on boxes with tied scores, duplicates, zero-area boxes and empty inputs, and
// batchedNms on both of torchvision's paths (offsets up to 1000 boxes, per category above).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import { op, tensor, tidy, zeros } from '../../src/torch/index.js';
import { nms, batchedNms } from '../../src/detection/index.js';
import { keepByMatrix } from '../../src/detection/nms-greedy.js';
import { cases, indices, load, nmsInputs } from './fixture.js';

checkLeaksEachTest();

for (const c of cases.filter((c) => c.kind === 'nms' || c.kind === 'batchedNms')) {
  test(`${c.kind} ${c.name} keeps torchvision's indices in torchvision's order`, () => {
    const keep = tidy(() => {
      const { boxes, scores } = nmsInputs(c.name, c.dtype);
      const out = c.kind === 'nms' ? nms(boxes, scores, c.iouThreshold!) : batchedNms(boxes, scores, load(`${c.name}/idxs`).long(), c.iouThreshold!);
      assert.equal(out.dtype, 'int64');
      return out.toArray();
    });
    assert.deepEqual(keep, indices(`${c.name}/keep`));
  });
}

// nms runs the scan on CPU tensors; the matrix pass (other devices) is checked here on the CPU.
for (const c of cases.filter((c) => c.kind === 'nms' && !c.name.includes('empty'))) {
  test(`the IoU-matrix pass (non-CPU devices) keeps torchvision's indices for ${c.name}`, () => {
    const keep = tidy(() => {
      const { boxes, scores } = nmsInputs(c.name, c.dtype);
      const order = op('sort.stable', scores, true, 0, true)[1].toArray();
      return keepByMatrix(boxes.indexSelect(0, tensor(order, { dtype: 'int64' })), c.iouThreshold!).map((i) => order[i]);
    });
    assert.deepEqual(keep, indices(`${c.name}/keep`));
  });
}

test('the fixture has tied scores among overlapping boxes and both batchedNms paths', () => {
  const sizes = tidy(() => cases.filter((c) => c.kind === 'batchedNms').map((c) => nmsInputs(c.name).boxes.size(0)));
  assert.ok(sizes.some((n) => n > 1000) && sizes.some((n) => n > 0 && n <= 1000));
  const ties = tidy(() => {
    const s = nmsInputs('nms_ties_0.5').scores.toArray();
    return s.length - new Set(s).size;
  });
  assert.ok(ties > 10, `only ${ties} tied scores`);
});

test('empty inputs give an empty int64 tensor', () => {
  tidy(() => {
    for (const keep of [nms(zeros([0, 4]), zeros([0]), 0.5), batchedNms(zeros([0, 4]), zeros([0]), zeros([0], { dtype: 'int64' }), 0.5)]) {
      assert.deepEqual(keep.shape, [0]);
      assert.equal(keep.dtype, 'int64');
    }
  });
});

test('suppression needs IoU strictly above the threshold', () => {
  tidy(() => {
    // IoU of these two is exactly 0.5 (intersection 10, union 20)
    const boxes = tensor([[0, 0, 15, 1], [5, 0, 20, 1]]);
    const scores = tensor([0.9, 0.8]);
    assert.deepEqual(nms(boxes, scores, 0.5).toArray(), [0, 1]);
    assert.deepEqual(nms(boxes, scores, 0.49).toArray(), [0]);
  });
});

test('batchedNms never suppresses across categories', () => {
  tidy(() => {
    const boxes = tensor([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]);
    const scores = tensor([0.5, 0.9, 0.7]);
    assert.deepEqual(batchedNms(boxes, scores, tensor([0, 1, 0], { dtype: 'int64' }), 0.5).toArray(), [1, 2]);
  });
});

test('wrong shapes and dtypes are refused with the expected shape', () => {
  tidy(() => {
    assert.throws(() => nms(zeros([3, 5]), zeros([3]), 0.5), /boxes must have shape \(N, 4\); got \[3,5\]/);
    assert.throws(() => nms(zeros([3, 4]), zeros([2]), 0.5), /scores must have shape \(N\) = \[3\]/);
    assert.throws(() => nms(zeros([3, 4]), zeros([3], { dtype: 'float64' }), 0.5), /same dtype/);
    assert.throws(() => batchedNms(zeros([3, 4]), zeros([3]), zeros([2], { dtype: 'int64' }), 0.5), /idxs must have shape \(N\) = \[3\]/);
  });
});
