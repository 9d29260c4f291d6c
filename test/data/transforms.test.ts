// Augmentations: geometry checked pixel by pixel on masks that encode their coordinates,
// instances that follow, determinism per seed, the JSON config and the presets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, Sample } from '../../src/data/types.js';
import {
  Compose,
  Rng,
  boxFromMask,
  cropSample,
  evalPreset,
  flipSample,
  mixSeed,
  normalizeImage,
  resizeSample,
  rot90Sample,
  rotateSample,
  trainPreset,
  type StepConfig,
} from '../../src/data/transforms/index.js';

/** W x H sample whose mask value is x + 20*y and whose image channels are (x, y, 100 + x + y). */
function grid(W: number, H: number, withInstance = true): Sample {
  const img = new Uint8Array(W * H * 3);
  const mask = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      img.set([x, y, 100 + x + y], p * 3);
      mask[p] = x + 20 * y;
    }
  }
  const s: Sample = { ref: { id: `grid${W}x${H}`, imagePath: `/mem/grid${W}x${H}.png` }, image: { data: img, width: W, height: H, channels: 3 }, mask: { data: mask, width: W, height: H } };
  if (withInstance) {
    // An object covering x in [1, 4), y in [1, 3).
    const m = new Uint8Array(W * H);
    for (let y = 1; y < 3; y++) for (let x = 1; x < 4; x++) m[y * W + x] = 1;
    s.instances = [{ label: 3, box: [1, 1, 4, 3], mask: m, area: 6 }];
  }
  return s;
}

const at = (s: Sample, x: number, y: number) => s.mask!.data[y * s.mask!.width + x]!;
const px = (s: Sample, x: number, y: number) => Array.from(s.image.data.subarray((y * s.image.width + x) * 3, (y * s.image.width + x) * 3 + 3));
const code = (x: number, y: number) => x + 20 * y;

/** Every mask pixel and image pixel of `s` equals the source pixel `src(x, y)` (or the fills when null). */
function expectMapping(s: Sample, src: (x: number, y: number) => [number, number] | null, fill = { image: [0, 0, 0], mask: 255 }): void {
  for (let y = 0; y < s.image.height; y++) {
    for (let x = 0; x < s.image.width; x++) {
      const from = src(x, y);
      if (from === null) {
        assert.equal(at(s, x, y), fill.mask, `mask fill at (${x}, ${y})`);
        assert.deepEqual(px(s, x, y), fill.image, `image fill at (${x}, ${y})`);
      } else {
        const [sx, sy] = from;
        assert.equal(at(s, x, y), code(sx, sy), `mask at (${x}, ${y}) should come from (${sx}, ${sy})`);
        assert.deepEqual(px(s, x, y), [sx, sy, 100 + sx + sy], `image at (${x}, ${y})`);
      }
    }
  }
}

test('flips move image, mask, instance mask and box together', () => {
  const s = grid(7, 5);
  const h = flipSample(s, true);
  expectMapping(h, (x, y) => [6 - x, y]);
  assert.deepEqual(h.instances![0]!.box, [3, 1, 6, 3]);
  assert.deepEqual(boxFromMask(h.instances![0]!.mask!, 7, 5), [3, 1, 6, 3]);
  const v = flipSample(s, false);
  expectMapping(v, (x, y) => [x, 4 - y]);
  assert.deepEqual(v.instances![0]!.box, [1, 2, 4, 4]);
  assert.deepEqual(boxFromMask(v.instances![0]!.mask!, 7, 5), [1, 2, 4, 4]);
});

test('quarter turns are exact permutations; boxes follow', () => {
  const s = grid(7, 5);
  const r1 = rot90Sample(s, 1); // counter-clockwise: out(x, y) = in(W-1-y, x)
  assert.deepEqual([r1.image.width, r1.image.height], [5, 7]);
  expectMapping(r1, (x, y) => [6 - y, x]);
  const r3 = rotateSample(s, -90, true, { mask: 255 }); // clockwise: out(x, y) = in(y, H-1-x)
  expectMapping(r3, (x, y) => [y, 4 - x]);
  const r2 = rotateSample(s, 180, false, { mask: 255 });
  expectMapping(r2, (x, y) => [6 - x, 4 - y]);
  for (const r of [r1, r2, r3]) {
    const inst = r.instances![0]!;
    assert.deepEqual(inst.box, boxFromMask(inst.mask!, r.image.width, r.image.height), 'box follows the instance mask');
  }
  let back = s;
  for (let i = 0; i < 4; i++) back = rotateSample(back, 90, true, { mask: 255 });
  assert.deepEqual(back.mask!.data, s.mask!.data);
  assert.deepEqual(back.image.data, s.image.data);
});

test('a quarter turn without expand keeps the size: centre cut, ignore where nothing lands', () => {
  const s = grid(7, 5);
  const r = rotateSample(s, 90, false, { image: [0, 0, 0], mask: 255 });
  assert.deepEqual([r.image.width, r.image.height], [7, 5]);
  // rot90 is 5 wide, 7 tall; cut at x = floor((5-7)/2) = -1, y = floor((7-5)/2) = 1.
  expectMapping(r, (x, y) => {
    const rx = x - 1;
    const ry = y + 1;
    return rx < 0 || rx >= 5 ? null : [6 - ry, rx];
  });
});

test('free rotation keeps mask labels (nearest, fill = ignore) and recomputes boxes from masks', () => {
  const s = grid(9, 7);
  const labels = new Set(s.mask!.data);
  const r = rotateSample(s, 33, false, { mask: 255 });
  let filled = 0;
  for (const v of r.mask!.data) {
    assert.ok(labels.has(v) || v === 255, `label ${v} was invented`);
    if (v === 255) filled++;
  }
  assert.ok(filled > 0, 'corners rotated out of the image are ignore');
  const inst = r.instances![0]!;
  assert.deepEqual(inst.box, boxFromMask(inst.mask!, 9, 7));
  // the centre pixel stays put
  assert.equal(at(r, 4, 3), code(4, 3));
});

test('crop and pad copy exact windows; pads are the pad value and ignore; boxes shift and clip', () => {
  const s = grid(7, 5);
  const c = cropSample(s, 2, 1, 3, 3, { mask: 255 });
  expectMapping(c, (x, y) => [x + 2, y + 1]);
  assert.deepEqual(c.instances![0]!.box, [0, 0, 2, 2]);
  assert.equal(c.instances![0]!.area, 4, 'area recomputed from the cropped instance mask');
  const p = cropSample(s, -2, -1, 10, 8, { image: [1, 2, 3], mask: 255 });
  expectMapping(p, (x, y) => (x < 2 || y < 1 || x >= 9 || y >= 6 ? null : [x - 2, y - 1]), { image: [1, 2, 3], mask: 255 });
  assert.deepEqual(p.instances![0]!.box, [3, 2, 6, 4]);
  const away = cropSample(s, 5, 3, 2, 2, { mask: 255 });
  assert.equal(away.instances!.length, 0, 'an instance left outside the crop is dropped');
});

test('randomCrop pads a small image bottom/right with the pad value and ignore', () => {
  const t = new Compose([{ name: 'randomCrop', size: [8, 9], padValue: [1, 2, 3] }]);
  const out = t.apply(grid(7, 5), new Rng(1));
  assert.deepEqual([out.image.width, out.image.height], [9, 8]);
  expectMapping(out, (x, y) => (x >= 7 || y >= 5 ? null : [x, y]), { image: [1, 2, 3], mask: 255 });
  // the loader's ignoreIndex reaches the pads
  const t2 = new Compose([{ name: 'randomCrop', size: [6, 6] }], { ignoreIndex: 99 });
  assert.equal(t2.apply(grid(4, 4), new Rng(1)).mask!.data[35], 99);
});

test('16-bit masks keep their values; an ignore index above 255 widens 8-bit masks', () => {
  const s = grid(4, 3, false);
  s.mask = { data: new Uint16Array(12).fill(1000), width: 4, height: 3 };
  const out = new Compose([{ name: 'randomScale', scales: [2] }, { name: 'randomCrop', size: [8, 10] }], { ignoreIndex: 300 }).apply(s, new Rng(0));
  assert.ok(out.mask!.data instanceof Uint16Array);
  assert.equal(out.mask!.data[0], 1000);
  assert.equal(out.mask!.data[9], 300, 'padding beyond the 8-wide scaled image');
  const narrow = new Compose([{ name: 'randomCrop', size: [4, 5] }], { ignoreIndex: 300 }).apply(grid(4, 3, false), new Rng(0));
  assert.ok(narrow.mask!.data instanceof Uint16Array);
  assert.deepEqual([narrow.mask!.data[4], narrow.mask!.data[5]], [300, code(0, 1)]);
});

test('resizing masks is nearest (pixel-centre aligned) at 2x and 1/2x', () => {
  const s = grid(8, 6);
  const up = resizeSample(s, 16, 12, { mask: 255 });
  for (let y = 0; y < 12; y++) for (let x = 0; x < 16; x++) assert.equal(at(up, x, y), code(x >> 1, y >> 1));
  const down = resizeSample(s, 4, 3, { mask: 255 });
  for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) assert.equal(at(down, x, y), code(2 * x + 1, 2 * y + 1));
  // bilinear image at 2x: pixel 1 of the output sits at source 0.25 -> 0.75*v0 + 0.25*v1
  assert.deepEqual(px(up, 1, 0), [0, 0, 100]);
  assert.deepEqual(px(up, 2, 0)[0], 1); // 0.25*0 + 0.75*1 = 0.75 -> 1
  assert.deepEqual(up.instances![0]!.box, [2, 2, 8, 6]);
  assert.deepEqual(down.instances![0]!.box, [0.5, 0.5, 2, 1.5]);
});

const randomPipeline: StepConfig[] = [
  { name: 'randomScale', range: [0.5, 2.0] },
  { name: 'randomCrop', size: [24, 24] },
  { name: 'horizontalFlip' },
  { name: 'rotation', degrees: 20, p: 0.5 },
  { name: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 },
  { name: 'gaussianBlur', p: 0.5 },
  { name: 'photometricDistortion' },
  { name: 'normalize' },
];

function photo(W: number, H: number, seed: number): Sample {
  const r = new Rng(seed);
  const s = grid(W, H);
  for (let i = 0; i < s.image.data.length; i++) s.image.data[i] = r.int(256);
  for (let i = 0; i < s.mask!.data.length; i++) s.mask!.data[i] = i % 3;
  return s;
}

test('same seed gives the same output; different seeds differ', () => {
  const t = new Compose(randomPipeline);
  const s = photo(30, 20, 7);
  const a = t.run(s, Rng.derive(1, 0, 5));
  const b = t.run(s, Rng.derive(1, 0, 5));
  assert.deepEqual(a.image.data, b.image.data);
  assert.deepEqual(a.sample.mask!.data, b.sample.mask!.data);
  const others = [Rng.derive(2, 0, 5), Rng.derive(1, 1, 5), Rng.derive(1, 0, 6)].map((r) => t.run(s, r).image.data);
  for (const o of others) assert.notDeepEqual(o, a.image.data);
  // the input is never modified
  assert.deepEqual(s.image.data, photo(30, 20, 7).image.data);
  assert.notEqual(mixSeed(1, 0, 5), mixSeed(1, 0, 6));
});

test('all random geometry keeps mask labels and sizes consistent', () => {
  const t = new Compose(randomPipeline);
  for (let seed = 0; seed < 20; seed++) {
    const out = t.run(photo(30, 20, seed), new Rng(seed));
    assert.deepEqual([out.image.channels, out.image.height, out.image.width], [3, 24, 24]);
    assert.deepEqual([out.sample.mask!.height, out.sample.mask!.width], [24, 24]);
    for (const v of out.sample.mask!.data) assert.ok(v <= 2 || v === 255, `seed ${seed}: label ${v}`);
  }
});

test('fused scale+crop(+flip) equals the steps one by one', () => {
  const cases: StepConfig[][] = [
    [{ name: 'randomScale', range: [0.5, 2.0] }, { name: 'randomCrop', size: [16, 20], padValue: 7 }],
    [{ name: 'randomScale', scales: [0.75, 1.5], antialias: true }, { name: 'randomCrop', size: [12, 12] }, { name: 'horizontalFlip' }],
    [{ name: 'randomScale', range: [0.5, 2.0] }, { name: 'randomCrop', size: [10, 10], catMaxRatio: 0.75 }, { name: 'horizontalFlip', p: 1 }],
    [{ name: 'randomScale', range: [0.9, 1.1], antialias: true }, { name: 'randomCrop', size: [30, 30], padValue: [1, 2, 3] }, { name: 'horizontalFlip', p: 0.5 }],
  ];
  for (const steps of cases) {
    const fused = new Compose(steps);
    const plain = new Compose(steps, { fuse: false });
    for (let seed = 0; seed < 8; seed++) {
      const s = photo(23, 17, seed);
      const a = fused.apply(s, new Rng(seed));
      const b = plain.apply(s, new Rng(seed));
      assert.deepEqual(a.image, b.image, `${JSON.stringify(steps)} seed ${seed}`);
      assert.deepEqual(a.mask, b.mask);
      assert.deepEqual(a.instances, b.instances);
    }
  }
});

test('writing straight into a batch slot gives exactly what run() gives', () => {
  const pipelines: StepConfig[][] = [
    [{ name: 'randomScale', range: [0.5, 2.0] }, { name: 'randomCrop', size: [24, 24], padValue: [9, 99, 199] }, { name: 'horizontalFlip' }, { name: 'normalize' }],
    [{ name: 'randomScale', range: [0.6, 1.4], antialias: true }, { name: 'randomCrop', size: [16, 28] }, { name: 'normalize', mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.4] }],
    [{ name: 'photometricDistortion' }, { name: 'randomScale', scales: [1, 1.5] }, { name: 'randomCrop', size: [24, 24] }, { name: 'horizontalFlip' }],
    [{ name: 'randomCrop', size: [24, 24] }, { name: 'verticalFlip' }, { name: 'normalize' }], // no fused ending: copied in
  ];
  for (const steps of pipelines) {
    const t = new Compose(steps);
    for (let seed = 0; seed < 6; seed++) {
      const s = photo(30, 20, seed);
      const want = t.run(s, new Rng(seed));
      const { channels: C, height: H, width: W } = want.image;
      const images = new Float32Array(2 * C * H * W).fill(NaN);
      const masks = new Int32Array(2 * H * W).fill(-1);
      const got = t.applyInto(s, new Rng(seed), (_cur, c, h, w) => {
        assert.deepEqual([c, h, w], [C, H, W]);
        return { images, imageOffset: C * H * W, masks, maskOffset: H * W };
      });
      assert.deepEqual(images.subarray(C * H * W), want.image.data, `${JSON.stringify(steps)} seed ${seed}`);
      assert.deepEqual(Array.from(masks.subarray(H * W)), Array.from(want.sample.mask!.data));
      assert.ok(images.subarray(0, C * H * W).every(Number.isNaN), 'the other slot is untouched');
      assert.deepEqual(got.instances, want.sample.instances);
    }
  }
});

test('catMaxRatio retries crops dominated by one class', () => {
  // 40x40 mask: class 0 on the left half, class 1 on the right; 20x20 crops are "mixed enough"
  // (largest class < 75%) only when x is in 6..14.
  const s = grid(40, 40, false);
  for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) s.mask!.data[y * 40 + x] = x >= 20 ? 1 : 0;
  const balanced = (o: Sample) => {
    let ones = 0;
    for (const v of o.mask!.data) ones += v;
    return ones / o.mask!.data.length > 0.25 && ones / o.mask!.data.length < 0.75;
  };
  const withRatio = new Compose([{ name: 'randomCrop', size: [20, 20], catMaxRatio: 0.75 }]);
  const without = new Compose([{ name: 'randomCrop', size: [20, 20] }]);
  let plainUnbalanced = 0;
  for (let seed = 0; seed < 20; seed++) {
    assert.ok(balanced(withRatio.apply(s, new Rng(seed))), `seed ${seed}: one class covers >= 75% of the crop`);
    if (!balanced(without.apply(s, new Rng(seed)))) plainUnbalanced++;
  }
  assert.ok(plainUnbalanced > 0, 'without the ratio some crops are dominated by one class');
});

test('zoomOut places the image on a larger canvas; boxes shift with it', () => {
  const t = new Compose([{ name: 'zoomOut', p: 1, sideRange: [2, 3], fill: [5, 6, 7] }]);
  const s = grid(7, 5);
  for (let seed = 0; seed < 5; seed++) {
    const out = t.apply(s, new Rng(seed));
    assert.ok(out.image.width >= 14 && out.image.height >= 10);
    // find the original top-left pixel (mask code 0) and check the whole image around it
    const p = Array.from(out.mask!.data).indexOf(0);
    const left = p % out.image.width;
    const top = Math.floor(p / out.image.width);
    expectMapping(out, (x, y) => (x < left || y < top || x >= left + 7 || y >= top + 5 ? null : [x - left, y - top]), { image: [5, 6, 7], mask: 255 });
    assert.deepEqual(out.instances![0]!.box, [1 + left, 1 + top, 4 + left, 3 + top]);
  }
});

test('iouCrop keeps boxes whose centre is inside and meets the drawn overlap', () => {
  const t = new Compose([{ name: 'iouCrop', overlaps: [0.5] }]);
  const s = grid(40, 30, false);
  const inst = (label: number, box: [number, number, number, number]): Instance => ({ label, box });
  s.instances = [inst(1, [5, 5, 25, 20]), inst(2, [30, 22, 38, 29])];
  for (let seed = 0; seed < 10; seed++) {
    const out = t.apply(s, new Rng(seed));
    assert.notEqual(out, s, `seed ${seed}: a crop was found`);
    assert.ok(out.instances!.length >= 1);
    const { width: W, height: H } = out.image;
    // overlaps [0.5]: some kept box has IoU >= 0.5 with the crop window (0, 0, W, H) of the original;
    // kept boxes are clipped, so their area is their intersection with the crop.
    const orig = out.instances!.map((i) => s.instances!.find((o) => o.label === i.label)!.box);
    assert.ok(
      out.instances!.some((i, k) => boxArea(i.box) / (W * H + boxArea(orig[k]!) - boxArea(i.box)) >= 0.5),
      `seed ${seed}: no box overlaps the crop by IoU 0.5`,
    );
    for (const i of out.instances!) {
      assert.ok(i.box[0] >= 0 && i.box[1] >= 0 && i.box[2] <= W && i.box[3] <= H, 'boxes clipped to the crop');
    }
    // the crop is a window of the original: mask codes are consecutive along a row
    assert.equal(at(out, 1, 0) - at(out, 0, 0), 1);
  }
});

const boxArea = (b: number[]) => (b[2]! - b[0]!) * (b[3]! - b[1]!);

test('normalize writes CHW floats; greyscale images feed every channel', () => {
  const t = new Compose([{ name: 'normalize', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }]);
  const s = grid(3, 2, false);
  const out = t.run(s, new Rng(0));
  assert.deepEqual(out.image.data, normalizeImage(s.image, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }).data);
  // pixel (2, 1): channel 0 holds x = 2 -> (2/255 - 0.5) / 0.25
  assert.ok(Math.abs(out.image.data[0 * 6 + 5]! - (2 / 255 - 0.5) / 0.25) < 1e-6);
  assert.ok(Math.abs(out.image.data[2 * 6 + 5]! - (103 / 255 - 0.5) / 0.25) < 1e-6);
  const grey: Sample = { ref: s.ref, image: { data: new Uint8Array([0, 51, 102, 153, 204, 255]), width: 3, height: 2, channels: 1 } };
  const g = t.run(grey, new Rng(0)).image;
  assert.equal(g.channels, 3);
  assert.deepEqual(g.data.subarray(0, 6), g.data.subarray(12, 18));
  // without normalize: ToTensor scaling
  const plain = new Compose([]).run(s, new Rng(0)).image;
  assert.ok(Math.abs(plain.data[5]! - 2 / 255) < 1e-7);
});

test('config errors name the step and the fix', () => {
  assert.throws(() => new Compose([{ name: 'flip' }]), /\[0\]\.name/);
  assert.throws(() => new Compose([{ name: 'randomCrop' }]), /size/);
  assert.throws(() => new Compose([{ name: 'normalize' }, { name: 'horizontalFlip' }]), /normalize is step 0 of 2; it must be the last step/);
  assert.throws(() => new Compose([{ name: 'resize', size: 4, shortSide: 3 }]), /exactly one of size/);
  assert.throws(() => new Compose([{ name: 'horizontalFlip', p: 2 }]), /\[0\]\.p/);
  assert.throws(() => new Compose([{ name: 'horizontalFlip', prob: 0.5 }]), /prob/);
});

test('presets: train crops to size, eval letterboxes to size with ignore padding', () => {
  const s = photo(50, 30, 3);
  const train = new Compose(trainPreset([32, 40]));
  for (let seed = 0; seed < 4; seed++) {
    const out = train.run(s, new Rng(seed));
    assert.deepEqual([out.image.height, out.image.width], [32, 40]);
  }
  const ev = new Compose(evalPreset(40)).run(s, new Rng(0));
  assert.deepEqual([ev.image.height, ev.image.width], [40, 40]);
  // 50x30 fits as 40x24; rows 24.. are padding
  const m = ev.sample.mask!;
  for (let y = 24; y < 40; y++) for (let x = 0; x < 40; x++) assert.equal(m.data[y * 40 + x], 255);
  for (let x = 0; x < 40; x++) assert.ok(m.data[23 * 40 + x]! <= 2);
  // presets are plain JSON
  assert.deepEqual(JSON.parse(JSON.stringify(trainPreset(8))), trainPreset(8));
});

test('Rng: same seed same stream, ranges respected, permutations complete', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 100 }, () => a.random());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.random()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => new Rng(43).random()));
  const r = new Rng(1);
  for (let i = 0; i < 1000; i++) {
    const v = r.intRange(-3, 3);
    assert.ok(Number.isInteger(v) && v >= -3 && v <= 3);
  }
  assert.deepEqual([...r.permutation(10)].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // large seeds are not truncated to 32 bits
  assert.notEqual(mixSeed(2 ** 40), mixSeed(0));
});
