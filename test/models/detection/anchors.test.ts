// AnchorGenerator against torchvision 0.14 (test/fixtures/detection/gen_rpn.py): cell anchors and
// the anchors of a batch equal torchvision's exactly, for Mask R-CNN's FPN generator on a
// non-divisible 97x131 batch (strides 3, 7, 13, 24, 48 rows) and a 64x64 one, and for a generator
// with several sizes per level and other ratios.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { AnchorGenerator } from '../../../src/models/index.js';
import { loadRpn, rpnFixture } from './rpn-fixture.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

const load = (key: string): number[] => torch.tidy(() => loadRpn(key).toArray());
interface AnchorCase { name: string; sizes: number[][]; aspectRatios: number[][]; image: [number, number]; images: number; features: [number, number][] }
const cases = JSON.parse(rpnFixture.metadata.anchor_cases) as AnchorCase[];

for (const c of cases) {
  test(`${c.name}: cell anchors and every image's anchors equal torchvision's`, () => {
    const gen = new AnchorGenerator(c.sizes, c.aspectRatios);
    assert.deepEqual(gen.cellAnchors.flat(2), load(`cell_anchors/${c.name}`));
    torch.tidy(() => {
      const images = torch.zeros([c.images, 3, ...c.image]);
      const feats = c.features.map(([h, w]) => torch.zeros([c.images, 1, h, w]));
      const anchors = gen.forward(images, feats);
      assert.equal(anchors.length, c.images);
      const expected = load(`anchors/${c.name}`);
      for (const a of anchors) {
        assert.equal(a.dtype, 'float32');
        assert.deepEqual(a.shape, [expected.length / 4, 4]);
        assert.deepEqual(a.toArray(), expected);
        a.dispose();
      }
    });
  });
}

test('Mask R-CNN defaults: 3 anchors per location on 5 levels; float64 features give float64 anchors', () => {
  const gen = new AnchorGenerator();
  assert.deepEqual(gen.numAnchorsPerLocation(), [3, 3, 3, 3, 3]);
  assert.deepEqual(gen.cellAnchors[0], [[-23, -11, 23, 11], [-16, -16, 16, 16], [-11, -23, 11, 23]]);
  torch.tidy(() => {
    const [a] = gen.forward(torch.zeros([1, 3, 32, 32]), [8, 4, 2, 1, 1].map((s) => torch.zeros([1, 1, s, s], { dtype: 'float64' })));
    assert.equal(a.dtype, 'float64');
    assert.deepEqual(a.shape, [(64 + 16 + 4 + 1 + 1) * 3, 4]);
    a.dispose();
  });
});

test('level counts that disagree are errors that say so', () => {
  assert.throws(() => new AnchorGenerator([[32], [64]], [[1.0]]), /2 levels of sizes but 1 of aspect ratios/);
  const gen = new AnchorGenerator();
  torch.tidy(() => {
    assert.throws(() => gen.forward(torch.zeros([1, 3, 32, 32]), [torch.zeros([1, 1, 8, 8])]), /got 1 feature maps, built for 5 levels/);
  });
});
