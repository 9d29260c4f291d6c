// RoIHeads in train mode against torchvision 0.14 (test/fixtures/detection/gen_roi_heads.py): with
// the same weights, features, proposals, targets and manual seed (the sampler's randperm draws are
// libtorch's in both), loss_classifier, loss_box_reg and loss_mask equal torchvision's, so do the
// gradients of every head parameter and, for the v2 heads, the BatchNorm running statistics after
// the step. Cases: 16 proposals sampled per image (v1), all of them (v2), and a batch of one image
// without objects (finite, zero box and mask terms with a gradient).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import type { RoIHeadsOptions } from '../../../src/models/index.js';
import type { DetectionTarget } from '../../../src/models/detection/types.js';
import { LEVELS, disposeAll, loadAll, loadRoi, makeHeads, maxDiff, roiFixture } from './roi-heads-fixture.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

interface TrainCase extends RoIHeadsOptions { name: string; version: string; images: number[]; objects: number[]; seed: number }
const cases = JSON.parse(roiFixture.metadata.train_cases) as TrainCase[];
const IMAGE_SIZES: [number, number][] = [[64, 80], [50, 70], [64, 80]];
const LOSSES = ['loss_classifier', 'loss_box_reg', 'loss_mask'];

for (const c of cases) {
  test(`${c.name}: losses, gradients of the heads and running statistics equal torchvision's`, () => {
    const sd = loadAll(`${c.version}/w/`);
    const heads = makeHeads(c.version, c);
    heads.loadStateDict(sd);
    disposeAll(sd);
    heads.train();
    torch.tidy(() => {
      const index = torch.tensor(c.images, { dtype: 'int64' });
      const features = Object.fromEntries(LEVELS.map((l) => [l, loadRoi(`features/${l}`).indexSelect(0, index)]));
      const sizes = c.images.map((i) => IMAGE_SIZES[i]);
      const at = (k: string, i: number): torch.Tensor => loadRoi(`train/${c.name}/${k}${i}`);
      const proposals = c.images.map((_, i) => at('proposals', i));
      const targets: DetectionTarget[] = c.images.map((_, i) => ({ boxes: at('boxes', i), labels: at('labels', i), masks: at('masks', i).to('uint8') }));
      torch.manualSeed(c.seed);
      const { detections, losses } = heads.forward(features, proposals, sizes, targets);
      assert.deepEqual(detections, []);
      assert.deepEqual(Object.keys(losses).sort(), [...LOSSES].sort());
      for (const k of LOSSES) {
        const expected = loadRoi(`train/${c.name}/${k}`).item();
        const got = losses[k].item();
        assert.ok(Number.isFinite(got), `${k} is ${got}`);
        assert.ok(Math.abs(got - expected) < 1e-5, `${k}: ${got}, torchvision ${expected}`);
      }
      LOSSES.map((k) => losses[k]).reduce((a, b) => a.add(b)).backward();
      const grads = loadAll(`train/${c.name}/grad/`);
      const params = new Map(heads.namedParameters());
      assert.deepEqual([...params.keys()], [...grads.keys()]);
      for (const [k, expected] of grads) {
        const g = params.get(k)!.grad;
        assert.ok(g, `${k}: no gradient`);
        assert.ok(maxDiff(g, expected) < 1e-4, `${k}: gradient differs by ${maxDiff(g, expected)}`);
      }
      const state = heads.stateDict();
      for (const [k, expected] of loadAll(`train/${c.name}/after/`)) {
        assert.ok(maxDiff(state.get(k)!, expected) < 1e-5, `${k} after the step differs by ${maxDiff(state.get(k)!, expected)}`);
      }
    });
    heads.dispose();
  });
}

test('train mode without targets, or with masks missing, is an error that says what to pass', () => {
  const heads = makeHeads('v1');
  heads.train();
  torch.tidy(() => {
    const boxes = torch.tensor([[1, 1, 9, 9]], { dtype: 'float32' });
    assert.throws(() => heads.forward({}, [boxes], [[16, 16]]), /train mode needs targets/);
    const labels = torch.tensor([1], { dtype: 'int64' });
    assert.throws(() => heads.forward({}, [boxes], [[16, 16]], [{ boxes, labels }]), /targets\[0\] has no masks/);
    assert.throws(() => heads.forward({}, [boxes], [[16, 16]], [{ boxes, labels: labels.to('int32') }]), /labels must be int64, got int32/);
  });
  heads.dispose();
});
