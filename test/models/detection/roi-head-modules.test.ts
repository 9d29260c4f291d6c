// The box and mask heads' own contract: torchvision's initialisation, bit for bit after the same
// manual seed (test/fixtures/detection/gen_roi_heads.py: default Linear init, kaiming_normal_
// fan_out convs with zero biases in FastRCNNConvFCHead and MaskRCNNHeads, kaiming_normal_ weights
// in MaskRCNNPredictor), output shapes, and FastRCNNPredictor's check of a 4-d input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { FastRCNNPredictor, MaskRCNNHeads, MaskRCNNPredictor, TwoMLPHead } from '../../../src/models/index.js';
import { disposeAll, loadAll, makeHeads, maxDiff } from './roi-heads-fixture.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

for (const version of ['v1', 'v2']) {
  test(`${version}: the heads initialise as torchvision's after the same manual seed`, () => {
    torch.manualSeed(0);
    const heads = makeHeads(version);
    const expected = loadAll(`init/${version}/`);
    const got = heads.stateDict();
    assert.ok(expected.size > 0);
    for (const [k, t] of expected) {
      assert.ok(got.has(k), k);
      assert.equal(maxDiff(got.get(k)!, t), 0, k);
    }
    disposeAll(expected);
    heads.dispose();
  });
}

test('shapes: the box head and predictor per RoI, the mask predictor doubles the size', () => {
  const boxHead = new TwoMLPHead(8 * 7 * 7, 16);
  const predictor = new FastRCNNPredictor(16, 5);
  const maskHead = new MaskRCNNHeads(8, [16, 16], 2);
  const maskPredictor = new MaskRCNNPredictor(16, 12, 5);
  torch.tidy(() => {
    const [logits, deltas] = predictor.forward(boxHead.forward(torch.randn([3, 8, 7, 7])));
    assert.deepEqual(logits.shape, [3, 5]);
    assert.deepEqual(deltas.shape, [3, 20]);
    assert.deepEqual(maskPredictor.forward(maskHead.forward(torch.randn([2, 8, 14, 14]))).shape, [2, 5, 28, 28]);
    assert.deepEqual(predictor.forward(torch.randn([3, 16, 1, 1]))[0].shape, [3, 5]);
    assert.throws(() => predictor.forward(torch.randn([3, 16, 2, 2])), /must be \(K, C, 1, 1\); got \[3,16,2,2\]/);
  });
  for (const m of [boxHead, predictor, maskHead, maskPredictor]) m.dispose();
});
