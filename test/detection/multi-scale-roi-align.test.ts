// MultiScaleRoIAlign against torchvision 0.14 (gen_detection.py) on a 5-map pyramid (one map not
// selected) with boxes of every FPN level 2 to 5: the pooled output within 1e-5, each box's level,
// and per feature map the sums of the gradient and of gradient × feature (where each box's
// gradient went).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import { arange, op, tidy, type Tensor } from '../../src/torch/index.js';
import { MultiScaleRoIAlign } from '../../src/detection/index.js';
import { assertNear, indices, load } from './fixture.js';

checkLeaksEachTest();

// sin(0.37·i + level) over the flat index, as the generator builds it
function pyramidFeature(level: number, size: number): Tensor {
  return tidy(() => op('sin', arange(2 * 2 * size * size, undefined, 1, { dtype: 'float32' }).mul(0.37).add(level)).reshape(2, 2, size, size));
}

test('MultiScaleRoIAlign pools every box from its level as torchvision does (values and gradients)', () => {
  tidy(() => {
    const names = ['0', '1', '2', '3', 'pool'];
    const feats = new Map(names.map((n, i) => [n, pyramidFeature(i, 128 >> i).requiresGrad_(true)]));
    const boxes = load('multiscale/boxes');
    const pooler = new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2);
    const out = pooler.call(feats, [boxes.narrow(0, 0, 6), boxes.narrow(0, 6, 4)], [[512, 512], [480, 500]]);
    assertNear(out, 'multiscale/output');
    assert.deepEqual(pooler.scales, [1 / 4, 1 / 8, 1 / 16, 1 / 32]);
    assert.deepEqual(pooler.mapLevels!.call([boxes]).toArray(), indices('multiscale/levels'));
    out.backward(arange(out.numel, undefined, 1, { dtype: 'int64' }).remainder(7).sub(3).float().reshape(out.shape));
    const expected = load('multiscale/grad_sums').toArray();
    names.forEach((n, i) => {
      const f = feats.get(n)!;
      const g = f.grad;
      const sums = g ? [g.sum().item(), g.mul(f).sum().item()] : [0, 0];
      for (let k = 0; k < 2; k++) {
        assert.ok(Math.abs(sums[k] - expected[2 * i + k]) <= 1e-4 * Math.max(1, Math.abs(expected[2 * i + k])), `map '${n}' gradient sum ${k}: ${sums[k]} vs ${expected[2 * i + k]}`);
      }
      g?.dispose();
    });
  });
});

test('MultiScaleRoIAlign names the feature maps it could not find', () => {
  tidy(() => {
    const pooler = new MultiScaleRoIAlign(['p2', 'p3'], 7, 2);
    assert.throws(() => pooler.call({ '0': pyramidFeature(0, 8) }, [load('multiscale/boxes')], [[32, 32]]), /none of the feature maps \[p2,p3\] is among the features given \[0\]/);
  });
});
