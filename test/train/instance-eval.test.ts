// cocoEvaluator: COCO bbox and segm AP of detections against a validation batch's own instances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import { tensor, tidy } from '../../src/torch/index.js';
import type { Batch, Instance } from '../../src/data/types.js';
import type { Detection } from '../../src/models/detection/types.js';
import { cocoEvaluator } from '../../src/train/instance.js';

checkLeaksEachTest();
const [H, W] = [16, 20];

function rect(label: number, x1: number, y1: number, x2: number, y2: number): Instance {
  const mask = new Uint8Array(H * W);
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) mask[y * W + x] = 1;
  return { label, box: [x1, y1, x2, y2], mask };
}

const batchOf = (instances: Instance[][]): Batch => ({
  images: new Float32Array(instances.length * 3 * H * W),
  shape: [instances.length, 3, H, W],
  refs: instances.map((_, i) => ({ id: `img${i}`, imagePath: `img${i}.png` })),
  instances,
});

/** Detections that are exactly the instances (score 0.9), masks as probabilities (K, 1, H, W). */
function asDetections(instances: Instance[], scores?: number[]): Detection {
  const K = instances.length;
  const masks = new Float32Array(K * H * W);
  instances.forEach((inst, k) => inst.mask!.forEach((v, i) => (masks[k * H * W + i] = v ? 0.8 : 0.1)));
  return {
    boxes: tensor(new Float32Array(instances.flatMap((i) => i.box)), { shape: [K, 4] }),
    labels: tensor(BigInt64Array.from(instances.map((i) => BigInt(i.label))), { shape: [K] }),
    scores: tensor(new Float32Array(scores ?? instances.map(() => 0.9)), { shape: [K] }),
    masks: tensor(masks, { shape: [K, 1, H, W] }),
  };
}

const free = (dets: Detection[]) => dets.forEach((d) => [d.boxes, d.labels, d.scores, d.masks!].forEach((t) => t.dispose()));

test('detections equal to the ground truth score AP 1 for boxes and masks, over two batches', () => {
  const ev = cocoEvaluator(['background', 'circle', 'square']);
  const a = [[rect(1, 2, 2, 8, 8), rect(2, 10, 3, 18, 12)], [rect(2, 0, 0, 5, 6)]];
  const b = [[rect(1, 4, 4, 14, 14)]];
  for (const inst of [a, b]) {
    const dets = inst.map((i) => asDetections(i));
    tidy(() => ev.update(dets, batchOf(inst)));
    free(dets);
  }
  const m = ev.compute();
  for (const k of ['segm.AP', 'segm.AP50', 'segm.AP75', 'bbox.AP', 'bbox.AR100']) assert.equal(m[k], 1, k);
  assert.equal(m['segm.APl'], -1, 'no large objects: -1 as pycocotools prints');
});

test('a missed object and a wrong-class detection lower AP and recall; a box-only evaluator reports bbox only', () => {
  const inst = [[rect(1, 2, 2, 8, 8), rect(2, 10, 3, 18, 12)]];
  const ev = cocoEvaluator(['background', 'circle', 'square']);
  const wrong = { ...inst[0]![1]!, label: 1 }; // the square called a circle
  const dets = [asDetections([inst[0]![0]!, wrong], [0.9, 0.8])];
  tidy(() => ev.update(dets, batchOf(inst)));
  free(dets);
  const m = ev.compute();
  // circle: one true and one false detection, the false one ranked lower -> AP 1; square: missed -> AP 0
  assert.ok(Math.abs(m['segm.AP']! - 0.5) < 1e-12, `segm.AP ${m['segm.AP']}`);
  assert.ok(Math.abs(m['bbox.AR100']! - 0.5) < 1e-12, `bbox.AR100 ${m['bbox.AR100']}`);
  const boxes = cocoEvaluator(['background', 'circle', 'square'], { segm: false });
  const d2 = [asDetections(inst[0]!)];
  tidy(() => boxes.update(d2, batchOf(inst)));
  free(d2);
  assert.deepEqual(Object.keys(boxes.compute()).filter((k) => k.startsWith('segm')), []);
});
