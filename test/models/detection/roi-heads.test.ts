// RoIHeads in eval mode against torchvision 0.14 (test/fixtures/detection/gen_roi_heads.py): the
// same head weights, FPN features and proposals give torchvision's class logits and box deltas,
// then per image its detections in its order (boxes, scores, labels) with their 28x28 masks, for
// the v1 heads (default thresholds) and the v2 heads (BatchNorm, 8 detections per image of more
// that survive); the third image's proposals are zero-width, so it has no detections. Also: heads
// without a mask branch, a mask branch given in part, the pre-0.13 mask-head keys, size checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { FastRCNNPredictor, MaskRCNNHeads, RoIHeads, TwoMLPHead, type RoIHeadsOptions } from '../../../src/models/index.js';
import { MultiScaleRoIAlign } from '../../../src/detection/index.js';
import { LEVELS, disposeAll, loadAll, loadRoi, makeHeads, maxDiff, roiFixture } from './roi-heads-fixture.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

interface EvalCase extends RoIHeadsOptions { name: string; version: string; proposals: number[] }
const cases = JSON.parse(roiFixture.metadata.cases) as EvalCase[];
const IMAGE_SIZES: [number, number][] = [[64, 80], [50, 70], [64, 80]];

const features = (): Record<string, torch.Tensor> => Object.fromEntries(LEVELS.map((l) => [l, loadRoi(`features/${l}`)]));

for (const c of cases) {
  test(`${c.name}: torchvision's state-dict keys; logits, deltas, detections and masks equal torchvision's`, () => {
    const sd = loadAll(`${c.name}/w/`);
    const heads = makeHeads(c.version, c);
    assert.deepEqual([...heads.stateDict().keys()], [...sd.keys()]);
    heads.loadStateDict(sd);
    disposeAll(sd);
    heads.eval();
    torch.tidy(() => torch.noGrad(() => {
      const feats = features();
      const proposals = [0, 1, 2].map((i) => loadRoi(`eval/${c.name}/proposals${i}`));
      // the box branch on every proposal
      const [logits, deltas] = heads.box_predictor.forward(heads.box_head.forward(heads.box_roi_pool.forward(feats, proposals, IMAGE_SIZES))) as torch.Tensor[];
      assert.ok(maxDiff(logits, loadRoi(`eval/${c.name}/class_logits`)) < 1e-4, 'class logits');
      assert.ok(maxDiff(deltas, loadRoi(`eval/${c.name}/box_regression`)) < 1e-4, 'box regression');

      const { detections, losses } = heads.forward(feats, proposals, IMAGE_SIZES);
      assert.deepEqual(losses, {});
      assert.equal(detections.length, 3);
      detections.forEach((d, i) => {
        const at = (k: string): torch.Tensor => loadRoi(`eval/${c.name}/${k}${i}`);
        assert.deepEqual(d.labels.toArray(), at('labels').toArray(), `image ${i}: labels in torchvision's order`);
        assert.equal(d.labels.dtype, 'int64');
        assert.ok(maxDiff(d.boxes, at('boxes')) < 1e-3, `image ${i}: boxes differ by ${maxDiff(d.boxes, at('boxes'))}`);
        assert.ok(maxDiff(d.scores, at('scores')) < 1e-4, `image ${i}: scores differ by ${maxDiff(d.scores, at('scores'))}`);
        assert.ok(d.masks, `image ${i}: masks`);
        assert.ok(maxDiff(d.masks, at('masks')) < 1e-4, `image ${i}: masks differ by ${maxDiff(d.masks, at('masks'))}`);
      });
      assert.equal(detections[2].boxes.size(0), 0, 'the zero-width proposals give no detection');
      assert.deepEqual(detections[2].masks!.shape, [0, 1, 28, 28]);
    }));
    heads.dispose();
  });
}

test('a batch in which no detection survives gives empty detections and masks', () => {
  const sd = loadAll('v1/w/');
  const heads = makeHeads('v1');
  heads.loadStateDict(sd);
  disposeAll(sd);
  heads.eval();
  torch.tidy(() => torch.noGrad(() => {
    const feats = Object.fromEntries(LEVELS.map((l) => [l, loadRoi(`features/${l}`).narrow(0, 2, 1)]));
    const empty = torch.zeros([0, 4]);
    const { detections } = heads.forward(feats, [loadRoi('eval/v1/proposals2')], [IMAGE_SIZES[2]]);
    assert.deepEqual(detections[0].boxes.shape, [0, 4]);
    assert.deepEqual(detections[0].masks!.shape, [0, 1, 28, 28]);
    // and an image without any proposal
    const none = heads.forward(feats, [empty], [IMAGE_SIZES[2]]).detections[0];
    assert.deepEqual(none.scores.shape, [0]);
    assert.deepEqual(none.masks!.shape, [0, 1, 28, 28]);
  }));
  heads.dispose();
});

test('without a mask branch: the same detections, no masks; train mode gives the two box losses', () => {
  const sd = loadAll('v1/w/box_');
  const heads = new RoIHeads({ boxRoiPool: new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2), boxHead: new TwoMLPHead(8 * 7 * 7, 16), boxPredictor: new FastRCNNPredictor(16, 4) });
  assert.deepEqual([...heads.stateDict().keys()], [...sd.keys()].map((k) => `box_${k}`));
  heads.loadStateDict(new Map([...sd].map(([k, t]) => [`box_${k}`, t])));
  disposeAll(sd);
  heads.eval();
  torch.tidy(() => {
    const proposals = [0, 1, 2].map((i) => loadRoi(`eval/v1/proposals${i}`));
    const { detections } = torch.noGrad(() => heads.forward(features(), proposals, IMAGE_SIZES));
    assert.equal(detections[0].masks, undefined);
    assert.ok(maxDiff(detections[0].boxes, loadRoi('eval/v1/boxes0')) < 1e-3);
    heads.train();
    const target = { boxes: torch.tensor([[10, 10, 30, 40]], { dtype: 'float32' }), labels: torch.tensor([2], { dtype: 'int64' }) };
    const { losses } = heads.forward(features(), proposals, IMAGE_SIZES, [target, target, target]);
    assert.deepEqual(Object.keys(losses), ['loss_classifier', 'loss_box_reg']);
  });
  heads.dispose();
});

test('a mask branch given in part is an error that names the three parts', () => {
  const pool = new MultiScaleRoIAlign(['0'], 7, 2);
  const head = new TwoMLPHead(8 * 7 * 7, 16);
  const predictor = new FastRCNNPredictor(16, 4);
  const maskHead = new MaskRCNNHeads(8, [16], 1);
  assert.throws(() => new RoIHeads({ boxRoiPool: pool, boxHead: head, boxPredictor: predictor, maskHead }), /needs maskRoiPool, maskHead and maskPredictor together/);
  for (const m of [head, predictor, maskHead]) m.dispose();
});

test('the mask head of a state dict from before torchvision 0.13 (mask_fcn1.weight ...) loads into mask_head.<i>.0.*', () => {
  const sd = loadAll('v1/w/');
  const old = new Map([...sd].map(([k, t]) => [k.replace(/^mask_head\.(\d+)\.0\./, (_, i: string) => `mask_head.mask_fcn${Number(i) + 1}.`), t]));
  assert.ok(old.has('mask_head.mask_fcn1.weight') && old.has('mask_head.mask_fcn2.bias'));
  const heads = makeHeads('v1');
  heads.loadStateDict(old);
  assert.equal(maxDiff(heads.stateDict().get('mask_head.1.0.weight')!, sd.get('mask_head.1.0.weight')!), 0);
  disposeAll(sd);
  heads.dispose();
});

test('image sizes that do not match the proposals are an error that says so', () => {
  const heads = makeHeads('v1');
  heads.eval();
  torch.tidy(() => {
    assert.throws(() => heads.forward({}, [torch.zeros([0, 4])], [[8, 8], [8, 8]]), /1 proposal lists for 2 image sizes/);
  });
  heads.dispose();
});
