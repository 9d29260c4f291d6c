// Instance-segmentation output from Detection objects built by hand from tensors (no model):
// reading and selecting by score, drawing (pixels where expected), per-instance mask PNGs and
// COCO results written atomically, and COCO evaluation reaching AP 1.0 when the detections equal
// the ground truth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '../../src/torch/index.js';
import type { Detection } from '../../src/models/detection/types.js';
import type { ImageBuffer } from '../../src/data/types.js';
import { readMask } from '../../src/io/image.js';
import { encodeMask, evaluateCoco, readCocoResults, type CocoGroundTruth } from '../../src/metrics/coco/index.js';
import { drawDetections, evaluateDetections, readDetection, writeCocoDetections, writeInstanceMasks, type ImageResult } from '../../src/predict/instances/index.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const W = 64;
const H = 48;
type Box = [number, number, number, number];
const CAR: Box = [4, 20, 30, 40]; // label 1, category 3
const DOG: Box = [36, 18, 60, 44]; // label 2, category 7
const SMALL_DOG: Box = [0, 0, 10, 10];

function rect(b: Box): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = b[1]; y < b[3]; y++) for (let x = b[0]; x < b[2]; x++) m[y * W + x] = 1;
  return m;
}

/** A Detection as the model's postprocess gives it: masks (K, 1, H, W) probabilities 0.9 inside the box, 0.2 outside. */
function detection(objects: { box: Box; label: number; score: number }[]): Detection {
  const K = objects.length;
  const probs = new Float32Array(K * H * W).fill(0.2);
  objects.forEach((o, k) => rect(o.box).forEach((v, i) => v && (probs[k * H * W + i] = 0.9)));
  return {
    boxes: tensor(Float32Array.from(objects.flatMap((o) => o.box)), { shape: [K, 4] }),
    labels: tensor(BigInt64Array.from(objects.map((o) => BigInt(o.label))), { shape: [K] }),
    scores: tensor(Float32Array.from(objects.map((o) => o.score)), { shape: [K] }),
    masks: tensor(probs, { shape: [K, 1, H, W] }),
  };
}

function read(objects: { box: Box; label: number; score: number }[], scoreThreshold = 0): ReturnType<typeof readDetection> {
  const d = detection(objects);
  try {
    return readDetection(d, { scoreThreshold });
  } finally {
    for (const t of [d.boxes, d.labels, d.scores, d.masks!]) t.dispose();
  }
}

const image1 = [
  { box: CAR, label: 1, score: 0.9 },
  { box: DOG, label: 2, score: 0.6 },
];
const image2 = [{ box: SMALL_DOG, label: 2, score: 0.8 }];

function groundTruth(): CocoGroundTruth {
  const ann = (id: number, imageId: number, cat: number, b: Box) => ({
    id,
    image_id: imageId,
    category_id: cat,
    bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]],
    area: (b[2] - b[0]) * (b[3] - b[1]),
    iscrowd: 0,
    segmentation: encodeMask(rect(b), H, W),
  });
  return {
    images: [
      { id: 1, width: W, height: H, file_name: 'one.png' },
      { id: 2, width: W, height: H, file_name: 'two.png' },
    ],
    categories: [
      { id: 7, name: 'dog' },
      { id: 3, name: 'car' },
    ],
    annotations: [ann(1, 1, 3, CAR), ann(2, 1, 7, DOG), ann(3, 2, 7, SMALL_DOG)],
  };
}

test('readDetection: arrays in order, masks thresholded at 0.5, selection by score', () => {
  const d = read(image1);
  assert.deepEqual(Array.from(d.labels), [1, 2]);
  assert.deepEqual(Array.from(d.boxes.subarray(0, 4)), CAR);
  assert.deepEqual([d.height, d.width], [H, W]);
  assert.deepEqual(d.masks![1], rect(DOG));
  const best = read(image1, 0.7);
  assert.deepEqual([Array.from(best.labels), Array.from(best.scores).map((s) => +s.toFixed(2)), best.masks!.length], [[1], [0.9], 1]);
});

test('drawDetections: mask fill at alpha, box outline in the class colour, a "name score" tab above the box', async () => {
  const grey: ImageBuffer = { data: new Uint8Array(W * H * 3).fill(100), width: W, height: H, channels: 3 };
  const d = read(image1);
  const px = (img: ImageBuffer, x: number, y: number) => Array.from(img.data.subarray(3 * (y * W + x), 3 * (y * W + x) + 3));
  const plain = await drawDetections(grey, d, { text: false, alpha: 0.5, lineWidth: 2 });
  // Label 1 is VOC colour (128, 0, 0), label 2 (0, 128, 0).
  assert.deepEqual(px(plain, 10, 30), [114, 50, 50], 'inside the car mask: (100 + 128) / 2, 100 / 2, 100 / 2');
  assert.deepEqual(px(plain, 4, 30), [128, 0, 0], 'left edge of the car box');
  assert.deepEqual(px(plain, 5, 30), [128, 0, 0], 'second pixel of a 2-pixel line');
  assert.deepEqual(px(plain, 6, 30), [114, 50, 50]);
  assert.deepEqual(px(plain, 29, 39), [128, 0, 0], 'bottom-right pixel of the car box (x2 - 1, y2 - 1)');
  assert.deepEqual(px(plain, 45, 30), [50, 114, 50], 'inside the dog mask');
  assert.deepEqual(px(plain, 2, 2), [100, 100, 100], 'background untouched');
  assert.deepEqual(px(grey, 10, 30), [100, 100, 100], 'the input is not changed');

  const withText = await drawDetections(grey, d);
  assert.deepEqual(px(withText, 4, 6), [128, 0, 0], 'the tab of the car starts 14 pixels above its box');
  let ink = 0;
  for (let y = 6; y < 20; y++) for (let x = 4; x < 44; x++) if (px(withText, x, y)[1]! > 150) ink++;
  assert.ok(ink >= 10, `white text pixels on the car tab: ${ink}`);
  assert.deepEqual(px(withText, 10, 30), px(plain, 10, 30), 'the text is only drawn on the tabs');
});

test('writeInstanceMasks: one 0/255 PNG per instance named <image>_<k>_<class>, written atomically', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'segkit-instances-'));
  try {
    const paths = await writeInstanceMasks(dir, 'one', read(image1), ['background', 'car', 'hot dog']);
    assert.deepEqual(paths, [join(dir, 'one_0_car.png'), join(dir, 'one_1_hot-dog.png')]);
    assert.deepEqual((await readdir(dir)).sort(), ['one_0_car.png', 'one_1_hot-dog.png'], 'no temporary files left');
    const m = await readMask(paths[1]!);
    assert.deepEqual([m.width, m.height], [W, H]);
    assert.deepEqual(Array.from(m.data), Array.from(rect(DOG), (v) => v * 255));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('COCO results JSON written, read back and evaluated: AP 1.0 for detections equal to the ground truth', async () => {
  const gt = groundTruth();
  const results: ImageResult[] = [
    { imageId: 1, detections: read(image1) },
    { imageId: 2, detections: read(image2) },
  ];
  const dir = await mkdtemp(join(tmpdir(), 'segkit-coco-'));
  try {
    for (const iouType of ['bbox', 'segm'] as const) {
      const file = join(dir, `${iouType}.json`);
      await writeCocoDetections(file, results, [3, 7], iouType);
      const back = await readCocoResults(file);
      assert.equal(back.length, 3);
      assert.deepEqual(
        back.map((r) => r.category_id),
        [3, 7, 7],
      );
      const ev = evaluateCoco(gt, back, { iouType, imageIds: [1, 2] });
      assert.ok(Math.abs(ev.stats.AP - 1) < 1e-12, `${iouType} AP ${ev.stats.AP}`); // 1 up to the rounding of a mean
    }
    assert.deepEqual((await readdir(dir)).sort(), ['bbox.json', 'segm.json']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const both = evaluateDetections(gt, results);
  assert.ok(Math.abs(both.bbox!.stats.AP - 1) < 1e-12 && Math.abs(both.segm!.stats.AP - 1) < 1e-12, `AP ${both.bbox!.stats.AP}, ${both.segm!.stats.AP}`);
  // The small dog missed: recall of image 2's only object is lost.
  const missed = evaluateDetections(gt, [results[0]!, { imageId: 2, detections: read([]) }]);
  assert.ok(missed.segm!.stats.AR100 < 1 && missed.segm!.stats.AR100 > 0, `AR100 ${missed.segm!.stats.AR100}`);
  assert.throws(() => evaluateDetections(gt, [{ imageId: 9, detections: read([]) }]), /image id\(s\) 9 are not in the ground truth/);
});
