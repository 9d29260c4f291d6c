// RegionProposalNetwork's proposals against torchvision 0.14 (test/fixtures/detection/gen_rpn.py):
// the same head weights and features (sin of the flat index, rebuilt here) give torchvision's boxes
// and objectness probabilities per image, in order: Mask R-CNN's eval settings on a 64x64 batch
// whose second image is smaller (clipping, small-box removal), small pre/post NMS counts with a
// score threshold on a non-divisible 97x131 batch, and the training counts in train mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { AnchorGenerator, RPNHead, RegionProposalNetwork, type TopN } from '../../../src/models/index.js';
import { loadRpn, rpnFixture } from './rpn-fixture.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

interface ProposalCase {
  name: string; batch: number[]; imageSizes: [number, number][]; channels: number; features: [number, number][];
  training: boolean; preNmsTopN: TopN; postNmsTopN: TopN; nmsThresh: number; scoreThresh: number;
}
const cases = JSON.parse(rpnFixture.metadata.proposal_cases) as ProposalCase[];

/** The generator's level features: sin(0.37·i + level) over the flat index. */
const pyramidFeature = (level: number, shape: number[]): torch.Tensor =>
  torch.tidy(() => torch.op('sin', torch.arange(0, shape.reduce((a, b) => a * b, 1), 1, { dtype: 'float32' }).mul(0.37).add(level)).reshape(shape));

const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => (a.numel === 0 ? 0 : a.sub(b).abs().max().item()));

for (const c of cases) {
  test(`${c.name}: proposals and scores equal torchvision's (${c.training ? 'train' : 'eval'} mode)`, () => {
    const head = new RPNHead(c.channels, 3);
    const prefix = `rpn/${c.name}/w/`;
    const sd = new Map([...rpnFixture.tensors.keys()].filter((k) => k.startsWith(prefix)).map((k) => [k.slice(prefix.length), loadRpn(k)]));
    head.loadStateDict(sd);
    for (const t of sd.values()) t.dispose();
    const rpn = new RegionProposalNetwork(new AnchorGenerator(), head, c);
    rpn.train(c.training);
    // torchvision's rpn.* keys: only the head's, under 'head.'
    assert.deepEqual([...rpn.stateDict().keys()], [...sd.keys()].map((k) => `head.${k}`));
    torch.tidy(() => {
      const n = c.batch[0];
      const features = Object.fromEntries(c.features.map(([h, w], i) => [String(i), pyramidFeature(i, [n, c.channels, h, w])]));
      // train mode needs targets (as torchvision's, which the fixture gives images without boxes)
      const targets = c.training ? Array.from({ length: n }, () => ({ boxes: torch.zeros([0, 4]) })) : undefined;
      const out = torch.noGrad(() => rpn.forward(torch.zeros(c.batch), c.imageSizes, features, targets));
      assert.deepEqual(Object.keys(out.losses), c.training ? ['loss_objectness', 'loss_rpn_box_reg'] : []);
      assert.equal(out.boxes.length, n);
      for (let i = 0; i < n; i++) {
        const boxes = loadRpn(`rpn/${c.name}/boxes${i}`);
        const scores = loadRpn(`rpn/${c.name}/scores${i}`);
        assert.deepEqual(out.boxes[i].shape, boxes.shape, `image ${i}: proposal count`);
        assert.ok(maxDiff(out.boxes[i], boxes) < 1e-4, `image ${i}: boxes differ by ${maxDiff(out.boxes[i], boxes)}`);
        assert.ok(maxDiff(out.scores[i], scores) < 1e-6, `image ${i}: scores differ by ${maxDiff(out.scores[i], scores)}`);
      }
    });
    rpn.dispose();
  });
}

test('image sizes that do not match the batch are an error that says so', () => {
  const rpn = new RegionProposalNetwork(new AnchorGenerator([[32]], [[1.0]]), new RPNHead(4, 1));
  torch.tidy(() => {
    assert.throws(() => rpn.forward(torch.zeros([2, 3, 16, 16]), [[16, 16]], { 0: torch.zeros([2, 4, 4, 4]) }), /1 image sizes for a batch of 2 images/);
  });
  rpn.dispose();
});
