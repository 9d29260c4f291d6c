// `segkit eval` and `segkit predict` with an instance model as a user runs them: a small Mask
// R-CNN trained for a few steps by runTraining on the bundled shapes' COCO file, then the CLI on
// the run's split.csv and on image files. The files it writes are read back: report.json's COCO
// metrics equal a fresh evaluation of detections.json against the annotations, overlays have the
// input's size, each instance PNG is its detection's mask in the COCO file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { generateShapes } from '../../src/data/bundled.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { runTraining } from '../../src/train/run.js';
import { readMask } from '../../src/io/image.js';
import { evaluateCoco, readCocoGroundTruth, readCocoResults, type CocoRle } from '../../src/metrics/coco/index.js';
import { segmentationToMask } from '../../src/data/sources/rle.js';
import { instanceSaveKinds } from '../../src/cli/instances.js';
import { repoRoot } from '../paths.js';
import { tempDir } from '../data/synth.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const segkit = (cwd: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args, '--threads', '1'], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
};

const SIZE = 64;

/** A run folder of maskrcnn_resnet_fpn trained 3 steps on 8 shapes images (split 4/2/2). */
async function trainedRun(dir: string): Promise<{ run: string; annotations: string; images: string }> {
  const root = await generateShapes({ dir: join(dir, 'shapes'), count: 8, size: SIZE, seed: 1, objects: [1, 2] });
  const cfg = parseTrainConfig({
    name: 'mrcnn', outDir: join(dir, 'runs'), threads: 1, seed: 0,
    data: { path: join(root, 'annotations.json'), splitRatios: [4, 2, 2], batchSize: 2, transforms: [] },
    model: {
      name: 'maskrcnn_resnet_fpn',
      options: {
        fpnChannels: 16, boxHeadSize: 32, maskHeadChannels: 16, maskHeadLayers: 1, minSize: SIZE, maxSize: SIZE, anchorSizes: [8, 16, 32, 64, 128],
        rpnPreNmsTopNTrain: 100, rpnPostNmsTopNTrain: 50, rpnPreNmsTopNTest: 50, rpnPostNmsTopNTest: 20, boxBatchSizePerImage: 32, boxDetectionsPerImg: 5,
      },
    },
    optimizer: { name: 'sgd', lr: 0.005, momentum: 0.9 },
    train: { iterations: 3, gradClip: 5 },
    val: { unit: 'iteration', every: 3 },
  });
  await runTraining(cfg, { print: () => {} });
  return { run: join(dir, 'runs', 'mrcnn'), annotations: join(root, 'annotations.json'), images: join(root, 'images') };
}

test('eval and predict with a trained Mask R-CNN: COCO reports, detections.json, overlays and instance PNGs', async () => {
  const tmp = tempDir('segkit-cli-instances-');
  try {
    const d = tmp.dir;
    const { run, annotations, images } = await trainedRun(d);
    const weights = join(run, 'best.safetensors');

    // eval on the run's held-out split: the model, options and classes come from the weights
    const ev = segkit(d, 'eval', join(run, 'split.csv'), '--split', 'test', '--weights', weights, '-o', 'ev', '--panels', '1');
    assert.equal(ev.status, 0, ev.out);
    assert.match(ev.out, /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = /);
    assert.match(ev.out, /class +mask AP +mask AP50 +box AP +box AP50 +objects\ncircle /);
    const report = JSON.parse(readFileSync(join(d, 'ev', 'report.json'), 'utf8'));
    assert.equal(report.kind, 'instance');
    assert.equal(report.images, 2);
    assert.equal(report.groundTruth, annotations, "a COCO dataset is scored against its own file");
    for (const k of ['segm.AP', 'segm.AP50', 'bbox.AP', 'bbox.AR100']) assert.equal(typeof report.metrics[k], 'number', k);
    assert.deepEqual(report.perClass.map((c: { name: string }) => c.name), ['circle', 'square', 'triangle']);
    for (const f of ['report.md', 'report.html']) assert.ok(existsSync(join(d, 'ev', f)), f);

    // detections.json: COCO results other tools read; scoring it again gives the report's numbers
    const results = await readCocoResults(join(d, 'ev', 'detections.json'));
    assert.ok(results.length > 0, 'the model detects something');
    assert.ok(results.every((r) => r.bbox && r.segmentation), 'each result has its box and its mask');
    const gt = await readCocoGroundTruth(annotations);
    const imageIds = [...new Set(results.map((r) => r.image_id))];
    assert.equal(evaluateCoco(gt, results, { iouType: 'bbox', imageIds }).stats.AP, report.metrics['bbox.AP']);
    const masksOnly = results.map(({ bbox: _, ...r }) => r); // as detectron2 scores segm: area from the mask
    assert.equal(evaluateCoco(gt, masksOnly, { iouType: 'segm', imageIds }).stats.AP, report.metrics['segm.AP']);

    // the run's training config stands for its data and split: the same held-out images
    const byConfig = segkit(d, 'eval', join(run, 'config.json'), '--split', 'test', '--weights', weights, '-o', 'ev-config', '--max-images', '1');
    assert.equal(byConfig.status, 0, byConfig.out);
    assert.equal(JSON.parse(readFileSync(join(d, 'ev-config', 'report.json'), 'utf8')).images, 1);
    const first = (await readCocoResults(join(d, 'ev-config', 'detections.json'))).map((r) => r.image_id);
    assert.ok(first.every((id) => imageIds.includes(id)), 'an image of the split CSV\'s test part');

    // predict two images: every detection drawn and written (threshold 0), one COCO file
    const files = ['0000.png', '0001.png'].map((f) => join(images, f));
    const pr = segkit(d, 'predict', ...files, '--weights', weights, '--save', 'overlay,instances,coco', '--score-threshold', '0', '-o', 'pr');
    assert.equal(pr.status, 0, pr.out);
    assert.match(pr.out, /wrote overlay, instances, coco for 2 images to pr/);
    const predicted = await readCocoResults(join(d, 'pr', 'detections.json'));
    assert.ok(predicted.length > 0, 'detections to write');
    const named = JSON.parse(readFileSync(join(d, 'pr', 'images.json'), 'utf8'));
    assert.deepEqual(named.categories.map((c: { name: string }) => c.name), ['circle', 'square', 'triangle']);
    const written = readdirSync(join(d, 'pr'));
    for (const [k, name] of ['0000', '0001'].entries()) {
      const overlay = await sharp(join(d, 'pr', `${name}_overlay.png`)).metadata();
      assert.deepEqual([overlay.width, overlay.height, overlay.channels], [SIZE, SIZE, 3]);
      assert.equal(named.images[k].id, k + 1);
      const mine = predicted.filter((r) => r.image_id === k + 1);
      const pngs = written.filter((f) => f.startsWith(`${name}_`) && f !== `${name}_overlay.png`).sort((a, b) => Number(a.split('_')[1]) - Number(b.split('_')[1]));
      assert.equal(pngs.length, mine.length, `${name}: one PNG per detection`);
      for (const [j, r] of mine.entries()) {
        const category = named.categories.find((c: { id: number }) => c.id === r.category_id).name;
        assert.equal(pngs[j], `${name}_${j}_${category}.png`);
        const png = await readMask(join(d, 'pr', pngs[j]!));
        const mask = segmentationToMask(r.segmentation as CocoRle, SIZE, SIZE);
        assert.deepEqual(Array.from(png.data, (v) => (v ? 1 : 0)), Array.from(mask), `${pngs[j]} is the mask of detection ${j}`);
      }
    }

    // the default threshold (0.5) draws fewer, and semantic outputs are refused with the valid ones named
    const strict = segkit(d, 'predict', files[0]!, '--weights', weights, '-o', 'strict');
    assert.equal(strict.status, 0, strict.out);
    const kept = predicted.filter((r) => r.image_id === 1 && r.score >= 0.5).length;
    assert.equal(readdirSync(join(d, 'strict')).filter((f) => f !== '0000_overlay.png').length, kept);
    assert.throws(() => instanceSaveKinds(['mask', 'overlay'], 'maskrcnn_resnet_fpn'), /--save: mask is for semantic models; maskrcnn_resnet_fpn is an instance model, which writes overlay, instances, coco/);
    assert.throws(() => instanceSaveKinds(['overlay', 'heatmap'], 'maskrcnn_resnet_fpn'), /--save: unknown output 'heatmap'; .* writes overlay, instances, coco/);
  } finally {
    tmp.done();
  }
});
