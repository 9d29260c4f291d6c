// FrozenBatchNorm2d as torchvision.ops.FrozenBatchNorm2d: four buffers and no parameters (nothing
// for an optimizer to train), x * w / sqrt(rv + eps) + (b - rm * w / sqrt(rv + eps)) in train and
// eval alike, BatchNorm2d checkpoints load with their num_batches_tracked dropped, conv folding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { BatchNorm2d, Conv2d, FrozenBatchNorm2d, Sequential, fuseConvBn } from '../../src/nn/index.js';
import { resnet18 } from '../../src/models/index.js';
import { frozenBatchNorm } from '../../src/models/detection/backbone-fpn.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

/** A FrozenBatchNorm2d over 3 channels with known statistics. */
function layer(): FrozenBatchNorm2d {
  const bn = new FrozenBatchNorm2d(3);
  torch.tidy(() => bn.loadStateDict({
    weight: torch.tensor([0.5, 1, 2]),
    bias: torch.tensor([0.1, -0.2, 0.3]),
    running_mean: torch.tensor([1, 0, -1]),
    running_var: torch.tensor([4, 0.25, 1]),
  }));
  return bn;
}

test('buffers under BatchNorm2d names, no parameters, torchvision repr', () => {
  const bn = new FrozenBatchNorm2d(4);
  assert.deepEqual([...bn.stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var']);
  assert.equal(bn.parameters().length, 0);
  assert.equal(bn.toString(), 'FrozenBatchNorm2d(4, eps=1e-05)');
  bn.dispose();
});

test('forward is the fixed per-channel affine map, in train mode too', () => {
  const bn = layer();
  const [w, b, rm, rv] = [[0.5, 1, 2], [0.1, -0.2, 0.3], [1, 0, -1], [4, 0.25, 1]];
  torch.tidy(() => {
    const x = torch.randn([2, 3, 2, 2]);
    const xs = x.toArray();
    const expected = xs.map((v, i) => {
      const c = Math.floor(i / 4) % 3;
      const scale = w[c] / Math.sqrt(rv[c] + 1e-5);
      return v * scale + (b[c] - rm[c] * scale);
    });
    for (const mode of [true, false]) {
      bn.train(mode);
      const got = bn.call(x).toArray();
      assert.ok(got.every((v, i) => Math.abs(v - expected[i]) < 1e-5), `training=${mode}`);
    }
    assert.deepEqual(bn.running_var.toArray(), rv, 'the statistics never change');
  });
  bn.dispose();
});

test('a BatchNorm2d state dict loads, num_batches_tracked dropped; other unknown keys still fail', () => {
  const bn = new FrozenBatchNorm2d(2);
  const src = new BatchNorm2d(2);
  assert.deepEqual(bn.loadStateDict(src.stateDict()), { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
  assert.throws(() => bn.loadStateDict({ ...Object.fromEntries(src.stateDict()), momentum: src.weight! }), /Unexpected key\(s\) in state_dict: "momentum"/);
  // nested: an ImageNet-style ResNet (BatchNorm2d, with num_batches_tracked) into a frozen one
  const plain = resnet18();
  const frozen = resnet18({ norm: frozenBatchNorm });
  frozen.loadStateDict(plain.stateDict());
  for (const m of [bn, src, plain, frozen]) m.dispose();
});

test('fuseConvBn folds it into the conv before it', () => {
  const seq = new Sequential(new Conv2d(2, 3, 3, { padding: 1 }), layer());
  seq.eval();
  torch.tidy(() => {
    const x = torch.randn([1, 2, 5, 5]);
    const before = torch.noGrad(() => seq.call(x));
    assert.equal(fuseConvBn(seq), 1);
    const after = torch.noGrad(() => seq.call(x));
    assert.ok(after.sub(before).abs().max().item() < 1e-5);
  });
  seq.dispose();
});
