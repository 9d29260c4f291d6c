// evaluate(): every image predicted and counted; the matrix equals one counted here pixel by pixel
// from the model's own argmax, with the ignore index left out; the eval command writes its reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { create, type SegmentationOutput } from '../../src/models/index.js';
import { openDataset } from '../../src/data/index.js';
import { saveWeights } from '../../src/io/index.js';
import { normalizeImage } from '../../src/data/transforms/normalize.js';
import { evaluate, evaluationMarkdown } from '../../src/predict/evaluate.js';
import { repoRoot } from '../paths.js';
import { pairs, stripes, tempDir } from '../data/synth.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();
const normalize = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

test('the confusion matrix equals a pixel-by-pixel count of the model\'s argmax, ignore index left out', async () => {
  const tmp = tempDir('segkit-eval-');
  try {
    await pairs(join(tmp.dir, 'ds'), 'images', 'masks', 3, (k) => stripes([0, 1, 2, 255], k));
    writeFileSync(join(tmp.dir, 'ds', 'labelmap.json'), JSON.stringify({ classes: ['a', 'b', 'c'] }));
    const ds = await openDataset(join(tmp.dir, 'ds'));
    torch.manualSeed(5);
    const model = create('unet', { numClasses: 3, baseWidth: 4, depth: 2 }).eval();
    const e = await evaluate(model, ds, { numClasses: 3, normalize, panels: 1, palette: [[0, 0, 0], [255, 0, 0], [0, 255, 0]] });

    const expected = Array.from({ length: 3 }, () => [0, 0, 0]);
    for (let i = 0; i < ds.length; i++) {
      const { image, mask } = await ds.get(i);
      const input = normalizeImage(image, normalize);
      const pred = torch.inferenceMode(() => torch.tidy(() =>
        (model.call(torch.tensor(input.data, { shape: [1, 3, image.height, image.width] })) as SegmentationOutput).out.argmax(1).toArray()));
      mask!.data.forEach((t, p) => {
        if (t !== 255) expected[t]![pred[p]!]! += 1;
      });
    }
    assert.deepEqual(e.metrics.matrix, expected);
    assert.equal(e.images, 3);
    assert.equal(e.metrics.pixels, 3 * 8 * 6, 'a quarter of the rows are ignored');
    assert.equal(e.panels.length, 1);
    const md = evaluationMarkdown('unet on ds', e, ['a', 'b', 'c']);
    assert.match(md, /\| mIoU \| [\d.]+% \| [\d.]+% \|/);
    assert.match(md, /\| a \| /);
    model.dispose();
  } finally {
    tmp.done();
  }
});

test('segkit eval writes report.json, report.md and report.html; an unknown split names the ones there are', async () => {
  const tmp = tempDir('segkit-eval-cli-');
  try {
    const d = tmp.dir;
    for (const split of ['train', 'val']) await pairs(join(d, 'ds', split), 'images', 'masks', 2, (k) => stripes([0, 1], k));
    writeFileSync(join(d, 'ds', 'labelmap.json'), JSON.stringify({ classes: ['background', 'thing'] }));
    const model = create('unet', { numClasses: 2 });
    saveWeights(model, join(d, 'unet.safetensors'));
    model.dispose();
    const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
    const run = (...args: string[]) => spawnSync(process.execPath, [main, 'eval', 'ds', '--model', 'unet', '--weights', 'unet.safetensors', ...args], { cwd: d, encoding: 'utf8' });
    const r = run('--split', 'val', '-o', 'out');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^2 images in [\d.]+ s: mIoU [\d.]+% \(per image [\d.]+%\)/);
    assert.match(r.stdout, /thing/);
    const report = JSON.parse(readFileSync(join(d, 'out', 'report.json'), 'utf8'));
    assert.equal(report.images, 2);
    assert.equal(report.metrics.pixels, 2 * 64);
    assert.match(readFileSync(join(d, 'out', 'report.html'), 'utf8'), /<h2>Confusion matrix<\/h2>/);
    // best.safetensors as segkit train writes it: the model and its options come from the file
    const small = create('unet', { numClasses: 2, baseWidth: 4, depth: 2 });
    saveWeights(small, join(d, 'best.safetensors'), { 'segkit.model': 'unet', 'segkit.options': JSON.stringify({ baseWidth: 4, depth: 2, numClasses: 2 }), 'segkit.classes': JSON.stringify(['background', 'thing']), 'segkit.normalize': JSON.stringify({ mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] }) });
    small.dispose();
    const fromRun = spawnSync(process.execPath, [main, 'eval', 'ds', '--weights', 'best.safetensors', '-o', 'out2'], { cwd: d, encoding: 'utf8' });
    assert.equal(fromRun.status, 0, fromRun.stderr);
    assert.match(fromRun.stderr, /^unet \(best\.safetensors\); normalise mean 0\.5,0\.5,0\.5 std 0\.2,0\.2,0\.2; 4 images/);
    const noModel = spawnSync(process.execPath, [main, 'eval', 'ds', '--weights', 'unet.safetensors'], { cwd: d, encoding: 'utf8' });
    assert.match(noModel.stderr, /which model\? give --model \(segkit models lists them\), or --weights with a best\.safetensors that segkit train wrote/);
    const bad = run('--split', 'test');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /ds has no split 'test'; its splits: (train, val|val, train)/);
  } finally {
    tmp.done();
  }
});
