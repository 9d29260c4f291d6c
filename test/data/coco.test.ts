import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../paths.js';
import { cocoSource } from '../../src/data/sources/coco.js';
import { loadSample, SegDataset, BadFileError } from '../../src/data/dataset.js';
import { makeRng } from '../../src/data/bundled.js';
import {
  bboxToRle, polygonToRle, rleArea, rleDecode, rleEncode, rleFromString, rleToString, segmentationToMask,
} from '../../src/data/sources/rle.js';

// Masks below are written as rows of a 4 x 5 (H x W) image. RLE counts run down the COLUMNS.
const H = 4, W = 5;
const grid = (rows: string[]): number[] => rows.join('').split('').map(Number);

test('uncompressed RLE decodes column-major', () => {
  // 18 zeros, then 2 ones: column-major indices 18, 19 → x = 4, y = 2 and 3.
  assert.deepEqual([...rleDecode({ size: [H, W], counts: [18, 2] })], grid(['00000', '00000', '00001', '00001']));
  // A leading zero-length run means the mask starts with ones: x = 0, y = 0..2.
  assert.deepEqual([...rleDecode({ size: [H, W], counts: [0, 3, 17] })], grid(['10000', '10000', '10000', '00000']));
  assert.throws(() => rleDecode({ size: [H, W], counts: [18, 3] }), /more than/);
  assert.throws(() => rleDecode({ size: [H, W], counts: [5] }), /cover 5 pixels/);
});

test('rleEncode gives the COCO counts (starting with the zero run)', () => {
  const m = Uint8Array.from(grid(['10000', '10000', '10000', '00000']));
  assert.deepEqual(rleEncode(m, H, W).counts, [0, 3, 17]);
  const m2 = Uint8Array.from(grid(['00000', '11111', '11111', '00000']));
  assert.deepEqual(rleEncode(m2, H, W).counts, [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
});

test('compressed RLE strings match hand-computed COCO encodings', () => {
  // [2, 2, 16]: 2 → '2', 2 → '2', 16 → low 5 bits 16 has the sign bit set, so a continuation
  // char 16|32 → '`' then 0 → '0'.
  assert.equal(rleToString([2, 2, 16]), '22`0');
  assert.deepEqual(rleFromString('22`0'), [2, 2, 16]);
  // From the 4th count on, the delta to the count two places back is stored: 1 - 3 = -2 → 30 → 'N'.
  assert.equal(rleToString([5, 3, 2, 1]), '532N');
  assert.deepEqual(rleFromString('532N'), [5, 3, 2, 1]);
  // 100 = 3 * 32 + 4 → 'T' (4 | continuation) then '3'.
  assert.equal(rleToString([100]), 'T3');
  assert.deepEqual(rleFromString('T3'), [100]);
  assert.throws(() => rleFromString('T'), /ends in the middle/);
});

test('encode/decode round trips on random masks and counts', () => {
  const rng = makeRng(7);
  for (let t = 0; t < 50; t++) {
    const h = 1 + Math.floor(rng() * 20), w = 1 + Math.floor(rng() * 20);
    const m = new Uint8Array(h * w).map(() => (rng() < 0.4 ? 1 : 0));
    const rle = rleEncode(m, h, w);
    assert.deepEqual(rleDecode(rle), m);
    assert.equal(rleArea(rle), m.reduce((a, b) => a + b, 0));
    assert.deepEqual(rleFromString(rleToString(rle.counts)), rle.counts);
  }
  const big = [0, 123456, 7, 1, 99999, 3, 3, 1_000_000];
  assert.deepEqual(rleFromString(rleToString(big)), big);
});

test('polygon rasterisation follows rleFrPoly (hand-traced)', () => {
  // Rectangle with edges on pixel borders: x 0.5..3.5, y -0.5..1.5. Upsampled by 5 the top edge
  // crosses pixel-centre columns at x = 1, 2, 3 (y → 0) and the bottom edge at y 8 → row 2, so
  // runs are [4, 2, 2, 2, 2, 2, 6]: columns 1..3, rows 0..1.
  const rect = polygonToRle([0.5, -0.5, 3.5, -0.5, 3.5, 1.5, 0.5, 1.5], H, W);
  assert.deepEqual(rect.counts, [4, 2, 2, 2, 2, 2, 6]);
  assert.deepEqual([...rleDecode(rect)], grid(['01110', '01110', '00000', '00000']));
  // Right triangle (-0.5,-0.5), (3.5,-0.5), (-0.5,3.5): its hypotenuse x + y = 3 passes through
  // the centres of (3,0), (2,1), (1,2), (0,3). Traced by hand, the hypotenuse crossings land at
  // rows 0, 1, 2, 3 of columns 3, 2, 1, 0, which EXCLUDES those centre pixels: sorted boundary
  // indices 0,3,4,6,8,9,12,12,20 give runs [0,3,1,2,2,1,3,0,8] → merged [0,3,1,2,2,1,11].
  const tri = polygonToRle([-0.5, -0.5, 3.5, -0.5, -0.5, 3.5], H, W);
  assert.deepEqual(tri.counts, [0, 3, 1, 2, 2, 1, 11]);
  assert.deepEqual([...rleDecode(tri)], grid(['11100', '11000', '10000', '00000']));
  // Vertex order does not matter.
  assert.deepEqual(polygonToRle([-0.5, 3.5, 3.5, -0.5, -0.5, -0.5], H, W).counts, tri.counts);
});

test('a box [x, y, w, h] rasterises like frBbox, and 4-number polygons are boxes (frPyObjects)', () => {
  const box = bboxToRle([0.5, -0.5, 3, 2], H, W);
  assert.deepEqual(box.counts, [4, 2, 2, 2, 2, 2, 6]);
  assert.deepEqual([...segmentationToMask([[0.5, -0.5, 3, 2]], H, W)], grid(['01110', '01110', '00000', '00000']));
});

test('polygon parts are united; RLE sizes must match the image', () => {
  const m = segmentationToMask([[-0.5, -0.5, 0.5, -0.5, 0.5, 3.5, -0.5, 3.5], [3.5, -0.5, 4.5, -0.5, 4.5, 3.5, 3.5, 3.5]], H, W);
  assert.deepEqual([...m], grid(['10001', '10001', '10001', '10001']));
  assert.throws(() => segmentationToMask({ size: [3, 5], counts: [15] }, H, W), /RLE size \[3, 5\]/);
  assert.throws(() => segmentationToMask([[1, 2, 3]], H, W), /at least 3 points/);
});

test('cocoSource maps category ids to contiguous labels 1..K and boxes to xyxy', async () => {
  const spec = await cocoSource({ annotations: fixture('data', 'coco', 'annotations.json') });
  assert.deepEqual(spec.labelMap?.classes, ['background', 'car', 'cat', 'dog']); // ids 3, 7, 18
  assert.deepEqual(spec.refs.map((r) => r.id), ['images/one', 'images/two', 'images/empty']);
  assert.ok(spec.refs[0].imagePath.endsWith(join('coco', 'images', 'one.png')));
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec); // serialisable for workers

  const s = await loadSample(spec.refs[0], spec);
  assert.equal(s.instances?.length, 3);
  const [car, dog, cat] = s.instances!;
  assert.deepEqual([car.label, dog.label, cat.label], [1, 3, 2]);
  assert.deepEqual(car.box, [0.5, 0, 3.5, 1.5]); // [0.5, -0.5, 3, 2] → xyxy, clamped to the image
  assert.deepEqual(dog.box, [4, 2, 5, 4]);
  assert.equal(cat.iscrowd, true);
  assert.deepEqual([...car.mask!], grid(['01110', '01110', '00000', '00000'])); // polygon
  assert.deepEqual([...dog.mask!], grid(['00000', '00000', '00001', '00001'])); // uncompressed RLE
  assert.deepEqual([...cat.mask!], grid(['00000', '00000', '10000', '10000'])); // compressed RLE
  // Semantic rendering: labels, crowd region → ignore.
  assert.deepEqual([...s.mask!.data], [0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 255, 0, 0, 0, 3, 255, 0, 0, 0, 3]);
});

test('overlapping instances become ignore (as torchvision), or the last one with overlap: last', async () => {
  const spec = await cocoSource({ annotations: fixture('data', 'coco', 'annotations.json') });
  const s = await loadSample(spec.refs[1], spec);
  const I = 255;
  assert.deepEqual([...s.mask!.data], [0, 1, 1, 0, 0, 2, I, I, 2, 2, 2, I, I, 2, 2, 0, 1, 1, 0, 0]);
  const last = await loadSample(spec.refs[1], { ...spec, coco: { overlap: 'last' } });
  assert.deepEqual([...last.mask!.data], [0, 1, 1, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 1, 1, 0, 0]);
  const crowd = await loadSample(spec.refs[0], { ...spec, coco: { crowd: 'label' } });
  assert.equal(crowd.mask!.data[10], 2);
  const empty = await loadSample(spec.refs[2], spec);
  assert.deepEqual(empty.instances, []);
  assert.ok(empty.mask!.data.every((v) => v === 0));
});

test('instances are decoded only when asked; skipEmpty drops images without annotations', async () => {
  const spec = await cocoSource({ annotations: fixture('data', 'coco', 'annotations.json'), skipEmpty: true });
  assert.equal(spec.refs.length, 2);
  const s = await new SegDataset({ ...spec, instances: false }).get(0);
  assert.equal(s.instances, undefined);
  assert.ok(s.mask);
});

test('bad COCO data names the file: unknown category, size mismatch with the image', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'segkit-coco-'));
  try {
    const img = fixture('data', 'coco', 'images', 'one.png');
    const bad = { images: [{ id: 1, file_name: img, width: 5, height: 4 }], categories: [{ id: 1, name: 'a' }], annotations: [{ id: 9, image_id: 1, category_id: 2, bbox: [0, 0, 1, 1], segmentation: [] }] };
    await writeFile(join(dir, 'a.json'), JSON.stringify(bad));
    await assert.rejects(cocoSource({ annotations: join(dir, 'a.json') }), /a\.json.*annotation 9 has category_id 2/);
    const wrongSize = { ...bad, images: [{ id: 1, file_name: img, width: 6, height: 4 }], annotations: [] };
    await writeFile(join(dir, 'b.json'), JSON.stringify(wrongSize));
    const spec = await cocoSource({ annotations: join(dir, 'b.json') });
    await assert.rejects(loadSample(spec.refs[0], spec), (e: Error) => e instanceof BadFileError && /one\.png: image is 5x4 but .*b\.json says 6x4/.test(e.message));
    await writeFile(join(dir, 'c.json'), '{"images": [');
    await assert.rejects(cocoSource({ annotations: join(dir, 'c.json') }), /c\.json: cannot read COCO/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
