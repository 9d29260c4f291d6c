// Image-list batches (DataLoader imageList) and their detector inputs: every image at its own
// size, instances with it; images (3, H, W) float32 0..1, targets with boxes float32, labels
// int64, masks uint8 (G, H, W) and crowd instances left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../paths.js';
import { cocoSource } from '../../src/data/sources/coco.js';
import { SegDataset } from '../../src/data/dataset.js';
import { DataLoader, type LoaderDataset } from '../../src/data/loader.js';
import { detectionInputs, disposeDetectionInputs } from '../../src/data/detection-inputs.js';
import type { Batch, Instance, Sample } from '../../src/data/types.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

/** A W x H sample, pixel (x, y) = (10x, 10y, 255), with one instance per box (masks fill the boxes). */
function sample(id: string, W: number, H: number, objects: { box: [number, number, number, number]; label: number; iscrowd?: boolean }[]): Sample {
  const img = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) img.set([10 * x, 10 * y, 255], (y * W + x) * 3);
  const instances: Instance[] = objects.map(({ box, label, iscrowd }) => {
    const mask = new Uint8Array(W * H);
    for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++) mask[y * W + x] = 1;
    return { label, box, mask, iscrowd: iscrowd ?? false };
  });
  return { ref: { id, imagePath: `/mem/${id}.png` }, image: { data: img, width: W, height: H, channels: 3 }, instances };
}

function memory(samples: Sample[]): LoaderDataset {
  return { length: samples.length, get: async (i) => samples[i]! };
}

async function firstBatch(loader: DataLoader): Promise<Batch> {
  for await (const b of loader) {
    await loader.close();
    return b;
  }
  throw new Error('no batch');
}

const two = () => [
  sample('wide', 6, 4, [
    { box: [1, 1, 3, 3], label: 2 },
    { box: [4, 0, 6, 2], label: 1, iscrowd: true },
  ]),
  sample('tall', 3, 5, [{ box: [0, 2, 3, 5], label: 1 }]),
];

test('imageList batches deliver each image at its own size with its instances', async () => {
  const batch = await firstBatch(new DataLoader(memory(two()), { batchSize: 2, imageList: true }));
  assert.deepEqual(batch.shape, [2, 3, 0, 0]);
  assert.equal(batch.images.length, 0);
  assert.deepEqual(batch.list!.map((b) => b.shape), [
    [3, 4, 6],
    [3, 5, 3],
  ]);
  // channel 0 of pixel (x=2, y=1) of the wide image: 20 / 255
  assert.ok(Math.abs(batch.list![0]!.image[1 * 6 + 2]! - 20 / 255) < 1e-6);
  assert.deepEqual(batch.instances!.map((l) => l.length), [2, 1]);
  // Without imageList the same samples cannot batch, and the error says what to do.
  await assert.rejects(firstBatch(new DataLoader(memory(two()), { batchSize: 2 })), /share one size/);
  assert.throws(() => new DataLoader(memory(two()), { imageList: true, recycle: true }), /imageList and recycle/);
});

test('detectionInputs: images 0..1 float32, boxes float32, labels int64, masks uint8 (G, H, W), crowd left out', async () => {
  const batch = await firstBatch(new DataLoader(memory(two()), { batchSize: 2, imageList: true }));
  const inputs = detectionInputs(batch);
  try {
    const [a, b] = inputs.images;
    assert.deepEqual([a!.shape, a!.dtype, b!.shape], [[3, 4, 6], 'float32', [3, 5, 3]]);
    assert.ok(Math.abs(a!.toArray()[1 * 24 + 3 * 6 + 4]! - 30 / 255) < 1e-6, 'channel 1 at (x=4, y=3) is 10y / 255');
    const [t0, t1] = inputs.targets;
    assert.deepEqual([t0!.boxes.dtype, t0!.labels.dtype, t0!.masks!.dtype], ['float32', 'int64', 'uint8']);
    assert.deepEqual(t0!.boxes.toArray(), [1, 1, 3, 3], 'the crowd box is left out');
    assert.deepEqual(t0!.labels.toArray().map(Number), [2]);
    assert.deepEqual(t0!.masks!.shape, [1, 4, 6]);
    // prettier-ignore
    assert.deepEqual(t0!.masks!.toArray(), [
      0, 0, 0, 0, 0, 0,
      0, 1, 1, 0, 0, 0,
      0, 1, 1, 0, 0, 0,
      0, 0, 0, 0, 0, 0,
    ]);
    assert.deepEqual(t1!.masks!.shape, [1, 5, 3]);
  } finally {
    disposeDetectionInputs(inputs);
  }
  const withCrowd = detectionInputs(batch, { keepCrowd: true, masks: false });
  assert.deepEqual(withCrowd.targets[0]!.labels.toArray().map(Number), [2, 1]);
  assert.equal(withCrowd.targets[0]!.masks, undefined);
  disposeDetectionInputs(withCrowd);
});

test('an image without objects gets empty (0, 4) boxes and (0, H, W) masks', async () => {
  const batch = await firstBatch(new DataLoader(memory([sample('none', 4, 3, [])]), { imageList: true }));
  const inputs = detectionInputs(batch, { masks: true });
  assert.deepEqual([inputs.targets[0]!.boxes.shape, inputs.targets[0]!.labels.shape, inputs.targets[0]!.masks!.shape], [[0, 4], [0], [0, 3, 4]]);
  disposeDetectionInputs(inputs);
});

test('detectionInputs refuses normalised images and names the fix', async () => {
  const batch = await firstBatch(new DataLoader(memory(two()), { batchSize: 2, imageList: true, transform: [{ name: 'normalize' }] }));
  assert.throws(() => detectionInputs(batch), /image "wide".*outside 0\.\.1.*leave the normalize step out/);
});

test('a COCO dataset through workers gives the same image-list batches as on the calling thread', async () => {
  const spec = await cocoSource({ annotations: fixture('data', 'coco', 'annotations.json') });
  const transform = [{ name: 'randomShortestSize' as const, minSize: [4, 8], maxSize: 100, antialias: false }];
  const batches = async (numWorkers: number) => {
    const out: Batch[] = [];
    const loader = new DataLoader(new SegDataset(spec), { batchSize: 3, imageList: true, numWorkers, seed: 5, transform });
    for await (const b of loader) out.push(b);
    await loader.close();
    return out;
  };
  const here = await batches(0);
  const there = await batches(1);
  assert.deepEqual(there, here);
  const sizes = here[0]!.list!.map((b) => b.shape.join('x'));
  assert.ok(sizes.every((s) => s === '3x4x5' || s === '3x8x10'), `sizes ${sizes}`);
  assert.deepEqual(here[0]!.instances!.map((l) => l.length), [3, 2, 0]);
  const inputs = detectionInputs(here[0]!);
  assert.deepEqual(inputs.targets.map((t) => t.boxes.shape[0]), [2, 2, 0], 'image one has a crowd instance');
  disposeDetectionInputs(inputs);
});
