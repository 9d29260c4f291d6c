// Instance segmentation through `segkit train`'s runTraining: a small Mask R-CNN
// (maskrcnn_resnet_fpn) on the bundled shapes' COCO JSON logs every loss term, validates with
// COCO AP, writes weights that rebuild, and resumes exactly after an interruption.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLeaksEachTest } from '../leak.js';
import { generateShapes } from '../../src/data/bundled.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { runTraining } from '../../src/train/run.js';
import { JsonlLog } from '../../src/train/logging.js';

checkLeaksEachTest();
let tmp: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'segkit-instance-train-'));
  await generateShapes({ dir: join(tmp, 'shapes'), count: 10, size: 48 });
  await generateShapes({ dir: join(tmp, 'masks-only'), count: 4, size: 48 });
  rmSync(join(tmp, 'masks-only', 'annotations.json')); // images and masks only
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = {
  backbone: 'resnet18', fpnChannels: 16, boxHeadSize: 32, maskHeadChannels: 16, maskHeadLayers: 1, anchorSizes: [8, 16, 32, 64, 128],
  minSize: 48, maxSize: 48, rpnPreNmsTopNTrain: 200, rpnPostNmsTopNTrain: 100, rpnPreNmsTopNTest: 100, rpnPostNmsTopNTest: 50, boxBatchSizePerImage: 32,
};

function config(name: string, over: Record<string, unknown> = {}) {
  return parseTrainConfig({
    name, outDir: join(tmp, 'runs'), threads: 1, seed: 1,
    data: { path: join(tmp, 'shapes', 'annotations.json'), batchSize: 2, splitRatios: [6, 4] },
    model: { name: 'maskrcnn_resnet_fpn', options: TINY },
    optimizer: { name: 'sgd', lr: 0.005, momentum: 0.9, weightDecay: 1e-4 },
    train: { iterations: 4, samples: 0, report: false, tensorboard: false },
    val: { unit: 'iteration', every: 2 },
    checkpoint: { unit: 'iteration', every: 2 },
    ...over,
  });
}

const TERMS = ['loss_classifier', 'loss_box_reg', 'loss_mask', 'loss_objectness', 'loss_rpn_box_reg'];

test('a Mask R-CNN trains from a COCO JSON: every loss term logged, COCO AP validation picks the best, weights rebuild with their class count', async () => {
  const a = config('plain', { train: { iterations: 4, samples: 2 } });
  const result = await runTraining(a, { print: () => {} });
  assert.equal(result.step, 4);
  const log = JsonlLog.read(join(a.outDir, a.name, 'train.jsonl'));
  const train = log.filter((r) => r.type === 'train');
  assert.equal(train.length, 4);
  for (const r of train) {
    const terms = r.terms as Record<string, number>;
    for (const k of TERMS) assert.ok(Number.isFinite(terms[k]), `${k} logged at step ${r.step}`);
    const sum = TERMS.reduce((s, k) => s + terms[k]!, 0);
    assert.ok(Math.abs(sum - (r.loss as number)) < 1e-4 * Math.max(1, sum), 'the loss is the sum of the terms');
  }
  const val = log.filter((r) => r.type === 'val');
  assert.equal(val.length, 2);
  for (const k of ['segm.AP', 'segm.AP50', 'bbox.AP', 'bbox.AR100']) assert.ok(k in (val[0]!.metrics as object), `${k} in the validation metrics`);
  assert.equal(result.best?.metric, 'segm.AP', "val.metric defaults to segm.AP for an instance model");
  const dir = join(a.outDir, a.name);
  const samples = await sharp(join(dir, 'samples.png')).metadata();
  assert.deepEqual([samples.width, samples.height], [3 * 48, 2 * 48], 'two rows of image | truth | detections');
  assert.ok(existsSync(join(dir, 'report.html')) && readdirSync(dir).some((f) => f.startsWith('events.out.tfevents')), 'report and TensorBoard events written');
  const meta = readSafetensors(join(a.outDir, a.name, 'best.safetensors')).metadata;
  assert.equal(meta['segkit.model'], 'maskrcnn_resnet_fpn');
  assert.equal(JSON.parse(meta['segkit.options']!).numClasses, 4);
  assert.deepEqual(JSON.parse(meta['segkit.classes']!), ['background', 'circle', 'square', 'triangle']);
});

test('an instance run interrupted at step 2 and resumed ends with the same weights, bit for bit, as an uninterrupted one', async () => {
  const a = config('straight');
  await runTraining(a, { print: () => {} });
  const b = config('stopped');
  let stopped = false;
  const first = await runTraining(b, {
    print: () => {},
    handleSigint: true,
    hooks: { onRecord: (r) => void (r.type === 'train' && r.step === 2 && !stopped && ((stopped = true), process.emit('SIGINT'))) },
  });
  assert.deepEqual([first.interrupted, first.step], [true, 2]);
  const resumed = await runTraining(b, { resume: true, print: () => {} });
  assert.equal(resumed.step, 4);
  const wa = readSafetensors(join(a.outDir, a.name, 'last.safetensors')).tensors;
  const wb = readSafetensors(join(b.outDir, b.name, 'last.safetensors')).tensors;
  assert.deepEqual([...wb.keys()].sort(), [...wa.keys()].sort());
  for (const [k, t] of wa) assert.ok(Buffer.from(t.data).equals(Buffer.from(wb.get(k)!.data)), `${k} differs`);
});

test('instance models refuse data without per-object annotations and data-parallel processes, saying what to do', async () => {
  await assert.rejects(runTraining(config('nofolder', { data: { path: join(tmp, 'masks-only'), batchSize: 2 } }), { print: () => {} }), /segments instances, but .* has no per-object annotations; give a COCO instances JSON/);
  await assert.rejects(runTraining(config('dp', { train: { iterations: 2, processes: 2 } }), { print: () => {} }), /train\.processes: data-parallel training is for semantic models so far/);
});
