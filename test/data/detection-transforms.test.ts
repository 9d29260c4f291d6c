// The detection references' resizes (scaleJitter, fixedSizeCrop, randomShortestSize) on boxes
// and masks, with expected values worked out by hand from torchvision's formulas, and the
// presets ({ preset: 'lsj' } ...) expanding to the reference's steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, Sample } from '../../src/data/types.js';
import { Compose, Rng, boxFromMask, fixedSizeCrop, parseTransformConfig, randomShortestSize, scaleJitter, MULTISCALE_SIZES } from '../../src/data/transforms/index.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { checkLeaksEachTest } from '../leak.js';
import { makeOp } from '../../src/data/transforms/ops.js';
import { adjustBrightness, adjustContrast, adjustSaturation, adjustHue, permuteChannels } from '../../src/data/transforms/color.js';

checkLeaksEachTest();

/** A W x H sample, image pixel (x, y) = (x, y, 7), semantic mask 1, with the given instances (boxes filled as masks). */
function sample(W: number, H: number, boxes: [number, number, number, number][]): Sample {
  const img = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) img.set([x, y, 7], (y * W + x) * 3);
  const instances: Instance[] = boxes.map((box, i) => {
    const mask = new Uint8Array(W * H);
    for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++) mask[y * W + x] = 1;
    return { label: i + 1, box, mask, area: (box[2] - box[0]) * (box[3] - box[1]) };
  });
  return { ref: { id: 's', imagePath: '/mem/s.png' }, image: { data: img, width: W, height: H, channels: 3 }, mask: { data: new Uint8Array(W * H).fill(1), width: W, height: H }, instances };
}

/** An Rng whose draws are fixed: random() and uniform() give `u` (uniform scaled into its range), int(n) gives `k`. */
function fixedRng(u: number, k = 0): Rng {
  return { random: () => u, uniform: (lo: number, hi: number) => lo + (hi - lo) * u, int: () => k } as unknown as Rng;
}
const noDraws = { random: () => assert.fail('no draw expected') } as unknown as Rng;

const px = (s: Sample, x: number, y: number) => Array.from(s.image.data.subarray((y * s.image.width + x) * 3, (y * s.image.width + x) * 3 + 3));

test('scaleJitter: ratio min(th/H, tw/W) x scale, sizes truncated, boxes scaled, masks nearest', () => {
  // 8x4 image, target 8x8: fit ratio min(8/4, 8/8) = 1; scale range [0.5, 0.5] -> 4x2.
  const step = parseTransformConfig([{ name: 'scaleJitter', targetSize: 8, scaleRange: [0.5, 0.5], antialias: false }])[0]! as Extract<ReturnType<typeof parseTransformConfig>[number], { name: 'scaleJitter' }>;
  const out = scaleJitter(step, sample(8, 4, [[2, 0, 6, 4]]), fixedRng(0.3));
  assert.deepEqual([out.image.width, out.image.height], [4, 2]);
  const inst = out.instances![0]!;
  assert.deepEqual(inst.box, [1, 0, 3, 2]);
  assert.deepEqual(boxFromMask(inst.mask!, 4, 2), [1, 0, 3, 2]);
  assert.equal(inst.area, 4, 'area recounted from the resized mask');
  // Scale range [0.1, 2.0] drawn at u = 0.5: scale 1.05, ratio min(10/5, 10/10) * 1.05 = 1.05 -> 10x5 image of 10.5x5.25 truncated.
  const step2 = parseTransformConfig([{ name: 'scaleJitter', targetSize: 10 }])[0]! as typeof step;
  const out2 = scaleJitter(step2, sample(10, 5, [[0, 0, 10, 5]]), fixedRng(0.5));
  assert.deepEqual([out2.image.width, out2.image.height], [10, 5]);
  assert.deepEqual(out2.instances![0]!.box, [0, 0, 10, 5]);
});

test('fixedSizeCrop: one draw offsets both axes, boxes shifted and clipped, degenerate ones dropped, pad right/bottom with fill', () => {
  // 10x4 image, size [6, 6]: width 10 > 6 -> left = trunc((10 - 6) * 0.5) = 2; height 4 <= 6 -> top 0, 2 rows of pad.
  const step = parseTransformConfig([{ name: 'fixedSizeCrop', size: 6, fill: [123, 117, 104] }])[0]! as Extract<ReturnType<typeof parseTransformConfig>[number], { name: 'fixedSizeCrop' }>;
  const s = sample(10, 4, [
    [3, 1, 5, 3], // inside: moves to [1, 1, 3, 3]
    [8, 0, 10, 2], // right of the crop: [6, 0, 8, 2] clips to [6, 0, 6, 2], degenerate -> dropped
    [0, 0, 3, 1], // cut by the left edge: [-2, 0, 1, 1] -> [0, 0, 1, 1]
  ]);
  const out = fixedSizeCrop(step, s, fixedRng(0.5), 255);
  assert.deepEqual([out.image.width, out.image.height], [6, 6]);
  assert.deepEqual(px(out, 0, 0), [2, 0, 7], 'pixel (0, 0) comes from (2, 0)');
  assert.deepEqual(px(out, 5, 3), [7, 3, 7]);
  assert.deepEqual(px(out, 3, 4), [123, 117, 104], 'bottom rows are the fill');
  assert.equal(out.mask!.data[4 * 6 + 3], 255, 'the semantic mask pads with the ignore index');
  assert.deepEqual(out.instances!.map((i) => i.label), [1, 3]);
  assert.deepEqual(out.instances![0]!.box, [1, 1, 3, 3]);
  assert.deepEqual(boxFromMask(out.instances![0]!.mask!, 6, 6), [1, 1, 3, 3]);
  assert.deepEqual(out.instances![1]!.box, [0, 0, 1, 1]);
  assert.equal(out.instances![1]!.area, 1);
  // Smaller than size on both axes: no draw, only padding; boxes unchanged.
  const small = fixedSizeCrop(step, sample(3, 3, [[0, 1, 2, 3]]), noDraws, 255);
  assert.deepEqual([small.image.width, small.image.height], [6, 6]);
  assert.deepEqual(small.instances![0]!.box, [0, 1, 2, 3]);
  assert.deepEqual(px(small, 2, 2), [2, 2, 7]);
  assert.deepEqual(px(small, 3, 0), [123, 117, 104]);
});

test('randomShortestSize: short side from minSize unless the long side would pass maxSize', () => {
  type Rss = Extract<ReturnType<typeof parseTransformConfig>[number], { name: 'randomShortestSize' }>;
  const step = parseTransformConfig([{ name: 'randomShortestSize', minSize: [3, 2], maxSize: 100, antialias: false }])[0]! as Rss;
  // int draw picks minSize[1] = 2: ratio min(2/4, 100/8) = 0.5 -> 4x2.
  const out = randomShortestSize(step, sample(8, 4, [[4, 0, 8, 4]]), fixedRng(0, 1));
  assert.deepEqual([out.image.width, out.image.height], [4, 2]);
  assert.deepEqual(out.instances![0]!.box, [2, 0, 4, 2]);
  assert.deepEqual(boxFromMask(out.instances![0]!.mask!, 4, 2), [2, 0, 4, 2]);
  // maxSize 3 wins: ratio min(2/4, 3/8) = 0.375 -> 3 x trunc(1.5) = 3x1; boxes scale by 3/8 and 1/4.
  const capped = randomShortestSize({ ...step, maxSize: 3 }, sample(8, 4, [[4, 0, 8, 4]]), fixedRng(0, 1));
  assert.deepEqual([capped.image.width, capped.image.height], [3, 1]);
  assert.deepEqual(capped.instances![0]!.box, [1.5, 0, 3, 1]);
});

test('presets expand to the detection references steps (DetectionPresetTrain)', () => {
  const names = (p: unknown) => parseTransformConfig([p]).map((s) => s.name);
  assert.deepEqual(names({ preset: 'hflip' }), ['horizontalFlip']);
  assert.deepEqual(names({ preset: 'lsj' }), ['scaleJitter', 'fixedSizeCrop', 'horizontalFlip']);
  assert.deepEqual(names({ preset: 'multiscale' }), ['randomShortestSize', 'horizontalFlip']);
  assert.deepEqual(names({ preset: 'ssd' }), ['randomPhotometricDistort', 'zoomOut', 'iouCrop', 'horizontalFlip']);
  assert.deepEqual(names({ preset: 'ssdlite' }), ['iouCrop', 'horizontalFlip']);

  const lsj = parseTransformConfig([{ preset: 'lsj', size: 512 }, { name: 'normalize' }]);
  assert.deepEqual(
    lsj,
    parseTransformConfig([
      { name: 'scaleJitter', targetSize: [512, 512], scaleRange: [0.1, 2.0] },
      { name: 'fixedSizeCrop', size: 512, fill: [123, 117, 104] },
      { name: 'horizontalFlip', p: 0.5 },
      { name: 'normalize' },
    ]),
  );
  assert.deepEqual(parseTransformConfig([{ preset: 'lsj' }])[0], parseTransformConfig([{ name: 'scaleJitter', targetSize: 1024 }])[0], 'lsj defaults to 1024');
  const ms = parseTransformConfig([{ preset: 'multiscale', hflipProb: 0.25 }]);
  assert.deepEqual(ms[0], { name: 'randomShortestSize', minSize: [480, 512, 544, 576, 608, 640, 672, 704, 736, 768, 800], maxSize: 1333, antialias: true });
  assert.deepEqual(MULTISCALE_SIZES.at(-1), 800);
  assert.deepEqual(ms[1], { name: 'horizontalFlip', p: 0.25 });
  const ssd = parseTransformConfig([{ preset: 'ssd' }]);
  assert.deepEqual((ssd[1] as { fill: unknown }).fill, [123, 117, 104], 'zoom-out fills with the mean');
});

test('preset errors name the item and the fix', () => {
  assert.throws(() => parseTransformConfig([{ name: 'horizontalFlip' }, { preset: 'big' }]), /\[1\]\.preset|at \[1\]/);
  assert.throws(() => parseTransformConfig([{ preset: 'multiscale', size: 512 }]), /size belongs to preset lsj/);
  assert.throws(() => parseTransformConfig([{ name: 'fixedSizeCrop' }]), /at \[0\]\.size|size/);
});

test('a preset runs through Compose and a train config: lsj gives size x size with instances inside', () => {
  const c = new Compose([{ preset: 'lsj', size: 16 }]);
  const out = c.apply(sample(24, 12, [[2, 2, 20, 10], [0, 0, 4, 4]]), new Rng(3));
  assert.deepEqual([out.image.width, out.image.height], [16, 16]);
  for (const inst of out.instances!) {
    assert.ok(inst.box[0] >= 0 && inst.box[2] <= 16 && inst.box[0] < inst.box[2] && inst.box[1] < inst.box[3], `box ${inst.box} inside and not degenerate`);
    assert.ok(inst.mask!.some((v) => v === 1));
  }
  const cfg = parseTrainConfig({ data: { path: 'data/shapes', transforms: [{ preset: 'hflip', hflipProb: 1 }, { name: 'normalize' }] } });
  assert.deepEqual(cfg.data.transforms!.map((s) => s.name), ['horizontalFlip', 'normalize']);
});

test('randomPhotometricDistort: the references\' order of draws and ops (contrast before or after saturation and hue), each op with probability p, then a channel order', () => {
  const [step] = parseTransformConfig([{ name: 'randomPhotometricDistort' }]);
  assert.deepEqual(step, { name: 'randomPhotometricDistort', brightness: [0.875, 1.125], contrast: [0.5, 1.5], saturation: [0.5, 1.5], hue: [-0.05, 0.05], p: 0.5 }, 'torchvision\'s defaults');
  const op = makeOp(step!, { ignoreIndex: 255 });
  /** Seven scripted uniforms, then factors at the top of each range and the channel order [2, 0, 1]. */
  const scripted = (r: number[]) => {
    const queue = [...r];
    return { random: () => queue.shift() ?? assert.fail('more draws than the reference makes'), uniform: (_lo: number, hi: number) => hi, permutation: () => Int32Array.from([2, 0, 1]) } as unknown as Rng;
  };
  const s = sample(6, 5, [[1, 1, 4, 4]]);
  const img = s.image;
  // brightness, contrast after (r1 >= 0.5) and applied (r5 < p), saturation, no hue, channels permuted
  const after = op(s, scripted([0.1, 0.7, 0.1, 0.2, 0.9, 0.3, 0.4]));
  const want = permuteChannels(adjustContrast(adjustSaturation(adjustBrightness(img, 1.125), 1.5), 1.5), [2, 0, 1]);
  assert.deepEqual(after.image.data, want.data);
  assert.deepEqual(after.instances, s.instances, 'objects stay');
  // contrast before (r1 < 0.5, r2 < p), hue, no permutation: contrast is not applied twice
  const before = op(s, scripted([0.9, 0.2, 0.1, 0.9, 0.1, 0.1, 0.9]));
  assert.deepEqual(before.image.data, adjustHue(adjustContrast(img, 1.5), 0.05).data);
  // nothing drawn below p: the sample as it was
  assert.equal(op(s, scripted([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])), s);
  assert.deepEqual(Array.from(permuteChannels(img, [2, 0, 1]).data.subarray(0, 3)), [7, 0, 0], 'pixel (0, 0) = (0, 0, 7) reordered as channels 2, 0, 1');
});
