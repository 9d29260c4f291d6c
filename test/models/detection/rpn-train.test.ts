// RegionProposalNetwork's training losses against torchvision 0.14 (gen_rpn_train.py): with the
// same head weights, features, targets and manual seed, the anchor labels, the anchors the fg/bg
// sampler draws, both losses and the gradients of the head's parameters equal torchvision's; an
// image without boxes (all background) is part of the batch. Batches with no objects at all train
// (finite objectness loss, box loss 0), and eval mode gives no losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { AnchorGenerator, RPNHead, RegionProposalNetwork, type RegionProposalNetworkOptions } from '../../../src/models/index.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { fixture } from '../../paths.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

const file = readSafetensors(fixture('detection', 'rpn_train.safetensors'));
const load = (key: string): torch.Tensor => {
  const raw = file.tensors.get(key);
  assert.ok(raw, `rpn_train fixture has no '${key}' (regenerate it with gen_rpn_train.py)`);
  return torch.fromRaw(raw);
};

interface TrainCase extends RegionProposalNetworkOptions {
  name: string; seed: number; batch: number[]; imageSizes: [number, number][]; channels: number; features: [number, number][];
}
const cases = JSON.parse(file.metadata.cases) as TrainCase[];

/** The generator's level features: sin(0.37·i + level) over the flat index. */
const pyramidFeature = (level: number, shape: number[]): torch.Tensor =>
  torch.tidy(() => torch.op('sin', torch.arange(0, shape.reduce((a, b) => a * b, 1), 1, { dtype: 'float32' }).mul(0.37).add(level)).reshape(shape));

const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());

/** An RPN with Mask R-CNN's anchors and the case's head weights and options, in training mode. */
function caseRpn(c: TrainCase): RegionProposalNetwork {
  const head = new RPNHead(c.channels, 3);
  const prefix = `${c.name}/w/`;
  const sd = new Map([...file.tensors.keys()].filter((k) => k.startsWith(prefix)).map((k) => [k.slice(prefix.length), load(k)]));
  head.loadStateDict(sd);
  for (const t of sd.values()) t.dispose();
  const rpn = new RegionProposalNetwork(new AnchorGenerator(), head, c);
  rpn.train();
  return rpn;
}

const caseFeatures = (c: TrainCase): Record<string, torch.Tensor> =>
  Object.fromEntries(c.features.map(([h, w], i) => [String(i), pyramidFeature(i, [c.batch[0], c.channels, h, w])]));

for (const c of cases) {
  test(`${c.name}: anchor labels, sampled anchors, losses and head gradients equal torchvision's`, () => {
    const rpn = caseRpn(c);
    torch.tidy(() => {
      const n = c.batch[0];
      const images = torch.zeros(c.batch);
      const features = caseFeatures(c);
      const targets = Array.from({ length: n }, (_, i) => ({ boxes: load(`${c.name}/boxes${i}`) }));

      // the pieces: labels of assign_targets_to_anchors, then the sampler's draws after the seed
      const anchors = rpn.anchorGenerator.forward(images, Object.values(features));
      const { labels } = rpn.assignTargetsToAnchors(anchors, targets);
      labels.forEach((l, i) => assert.deepEqual(l.toArray(), load(`${c.name}/labels${i}`).toArray(), `image ${i}: anchor labels`));
      torch.manualSeed(c.seed);
      const { positive, negative } = rpn.fgBgSampler.sample(labels);
      const indices = (masks: torch.Tensor[]): number[] => torch.op('nonzero', torch.cat(masks, 0)).reshape(-1).toArray();
      assert.deepEqual(indices(positive), load(`${c.name}/pos`).toArray(), 'sampled positive anchors');
      assert.deepEqual(indices(negative), load(`${c.name}/neg`).toArray(), 'sampled negative anchors');

      // the whole forward: nothing draws from the generator before the sampler, as in torchvision
      torch.manualSeed(c.seed);
      const { losses, boxes } = rpn.forward(images, c.imageSizes, features, targets);
      assert.equal(boxes.length, n);
      for (const key of ['loss_objectness', 'loss_rpn_box_reg'] as const) {
        const loss = losses[key];
        assert.deepEqual(loss.shape, []);
        assert.ok(loss.requiresGrad, `${key} has grad`);
        const d = maxDiff(loss.reshape(1), load(`${c.name}/${key}`));
        assert.ok(d < 1e-5, `${key}: ${loss.item()} differs from torchvision's by ${d}`);
      }
      losses.loss_objectness.add(losses.loss_rpn_box_reg).backward();
      for (const [name, p] of rpn.head.namedParameters()) {
        const grad = p.grad;
        assert.ok(grad, `${name} has a gradient`);
        const d = maxDiff(grad, load(`${c.name}/grad/${name}`));
        assert.ok(d < 1e-5, `grad of ${name} differs from torchvision's by ${d}`);
      }
    });
    rpn.dispose();
  });
}

test('a batch without objects trains: all anchors background, finite objectness loss, box loss 0', () => {
  const rpn = caseRpn(cases[0]);
  torch.tidy(() => {
    const c = cases[0];
    const targets = Array.from({ length: c.batch[0] }, () => ({ boxes: torch.zeros([0, 4]) }));
    torch.manualSeed(0);
    const { losses } = rpn.forward(torch.zeros(c.batch), c.imageSizes, caseFeatures(c), targets);
    const objectness = losses.loss_objectness.item();
    assert.ok(Number.isFinite(objectness) && objectness > 0, `objectness loss ${objectness}`);
    assert.equal(losses.loss_rpn_box_reg.item(), 0);
    losses.loss_objectness.add(losses.loss_rpn_box_reg).backward();
    for (const [name, p] of rpn.head.namedParameters()) {
      const grad = p.grad;
      assert.ok(grad, `${name} has a gradient`);
      assert.ok(Number.isFinite(grad.abs().sum().item()), `grad of ${name} is finite`);
    }
    // only the objectness logits learn: the box regression gets a zero gradient
    assert.equal(rpn.head.bbox_pred.weight.grad?.abs().sum().item(), 0);
  });
  rpn.dispose();
});

test('eval mode gives no losses (targets or not); training mode without targets is an error that says what to do', () => {
  const c = cases[0];
  const rpn = caseRpn(c);
  torch.tidy(() => {
    const images = torch.zeros(c.batch);
    const features = caseFeatures(c);
    const targets = [{ boxes: load(`${c.name}/boxes0`) }, { boxes: torch.zeros([0, 4]) }];
    assert.throws(() => rpn.forward(images, c.imageSizes, features), /training mode needs targets .*call eval\(\) for proposals only/);
    assert.throws(() => rpn.forward(images, c.imageSizes, features, targets.slice(0, 1)), /1 targets for a batch of 2 images/);
    assert.throws(() => rpn.forward(images, c.imageSizes, features, [targets[1], { boxes: torch.ones([3, 5]) }]), /target 1's boxes must have shape \(G, 4\).*got \[3,5\]/);
    rpn.eval();
    torch.noGrad(() => {
      assert.deepEqual(rpn.forward(images, c.imageSizes, features, targets).losses, {});
      assert.deepEqual(rpn.forward(images, c.imageSizes, features).losses, {});
    });
  });
  rpn.dispose();
});
