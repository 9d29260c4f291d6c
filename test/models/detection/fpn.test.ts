// FeaturePyramidNetwork on its own (its torchvision parity is in backbone-fpn.test.ts): levels
// keep their names and order with the extra 'pool' level last, files from before torchvision 0.13
// (plain-conv keys) load, and a wrong number of levels is an error that says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { FeaturePyramidNetwork, LastLevelMaxPool } from '../../../src/models/index.js';
import { BatchNorm2d } from '../../../src/nn/index.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();

test('levels keep their names, finest first, each with outChannels; pool halves the last', () => {
  const fpn = new FeaturePyramidNetwork([10, 20, 30], 5, { extraBlocks: new LastLevelMaxPool() });
  torch.tidy(() => {
    const out = fpn.call({ feat0: torch.rand([1, 10, 64, 64]), feat2: torch.rand([1, 20, 16, 16]), feat3: torch.rand([1, 30, 7, 9]) });
    assert.deepEqual(Object.entries(out).map(([k, v]) => [k, v.shape]), [
      ['feat0', [1, 5, 64, 64]],
      ['feat2', [1, 5, 16, 16]],
      ['feat3', [1, 5, 7, 9]],
      ['pool', [1, 5, 4, 5]],
    ]);
  });
  fpn.dispose();
});

test('a state dict from before torchvision 0.13 (inner_blocks.0.weight) loads into the Conv2dNormActivation keys', () => {
  const src = new FeaturePyramidNetwork([8, 16], 4);
  const dst = new FeaturePyramidNetwork([8, 16], 4);
  const old = new Map([...src.stateDict()].map(([k, t]) => [k.replace(/^(inner_blocks|layer_blocks)\.(\d+)\.0\./, '$1.$2.'), t]));
  assert.ok(old.has('inner_blocks.1.weight') && old.has('layer_blocks.0.bias'));
  dst.loadStateDict(old);
  for (const [k, t] of dst.stateDict()) assert.ok(torch.tidy(() => Boolean(t.eq(src.stateDict().get(k)!).all().item())), k);
  src.dispose();
  dst.dispose();
});

test('with a norm layer (v2) the convs lose their bias and gain BatchNorm keys', () => {
  const fpn = new FeaturePyramidNetwork([8], 4, { norm: (c) => new BatchNorm2d(c) });
  assert.deepEqual([...fpn.stateDict().keys()].filter((k) => k.startsWith('inner_blocks.0.')), [
    'inner_blocks.0.0.weight', 'inner_blocks.0.1.weight', 'inner_blocks.0.1.bias',
    'inner_blocks.0.1.running_mean', 'inner_blocks.0.1.running_var', 'inner_blocks.0.1.num_batches_tracked',
  ]);
  fpn.dispose();
});

test('a number of levels other than built for is an error naming them', () => {
  const fpn = new FeaturePyramidNetwork([8, 16], 4);
  torch.tidy(() => {
    assert.throws(() => fpn.call({ a: torch.rand([1, 8, 4, 4]) }), /got 1 levels \(a\), built for 2/);
  });
  fpn.dispose();
});
