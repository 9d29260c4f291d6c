// `segkit predict` as a user runs it: a model saved by segkit, images in two folders with the same
// file names, every output kind; the masks equal the model's own argmax computed in-process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../src/torch/index.js';
import { create, type SegmentationOutput } from '../../src/models/index.js';
import { readMask, readImage } from '../../src/io/image.js';
import { saveWeights, readSafetensors } from '../../src/io/index.js';
import { normalizeImage } from '../../src/data/transforms/normalize.js';
import { repoRoot } from '../paths.js';
import { S, tempDir, imagePixels, writePng } from '../data/synth.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const segkit = (cwd: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
};

test('predict writes masks, colours, overlays, panels and probabilities mirroring the input folders', async () => {
  const tmp = tempDir('segkit-cli-predict-');
  try {
    const d = tmp.dir;
    torch.manualSeed(3);
    const model = create('unet', { numClasses: 3 });
    saveWeights(model, join(d, 'unet.safetensors'));
    for (const [k, folder] of ['a', 'b'].entries()) {
      await writePng(join(d, 'images', folder, 'x.png'), imagePixels(k), 3);
    }
    await writePng(join(d, 'truth', 'a', 'x.png'), Buffer.alloc(S * S, 2), 1);

    const r = segkit(d, 'predict', 'images', '--model', 'unet', '--weights', 'unet.safetensors', '--num-classes', '3',
      '--save', 'mask,color,overlay,panel,probs', '--masks', 'truth', '--mean', '0.5,0.5,0.5', '--std', '0.25,0.25,0.25', '-o', 'out');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /wrote mask, color, overlay, panel, probs for 2 images to out/);

    model.eval();
    for (const folder of ['a', 'b']) {
      const image = await readImage(join(d, 'images', folder, 'x.png'), { channels: 3 });
      const input = normalizeImage(image, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
      const expected = torch.inferenceMode(() => torch.tidy(() =>
        (model.call(torch.tensor(input.data, { shape: [1, 3, image.height, image.width] })) as SegmentationOutput).out.argmax(1).toArray()));
      const mask = await readMask(join(d, 'out', folder, 'x.png'));
      assert.deepEqual(Array.from(mask.data), expected, `${folder}: the mask is the model's argmax`);
      const panel = await sharp(join(d, 'out', folder, 'x_panel.png')).metadata();
      const tiles = folder === 'a' ? 3 : 2; // the truth tile only where a truth mask exists
      assert.equal(panel.width, tiles * image.width + (tiles + 1) * 4);
      const probs = readSafetensors(join(d, 'out', folder, 'x_probs.safetensors')).tensors.get('probs')!;
      assert.deepEqual(probs.shape, [3, image.height, image.width]);
      for (const suffix of ['_color', '_overlay']) assert.ok(readFileSync(join(d, 'out', folder, `x${suffix}.png`)).length > 0);
    }
    model.dispose();

    const bad = segkit(d, 'predict', 'nowhere', '--model', 'unet');
    assert.equal(bad.status, 1);
    assert.match(bad.out, /nowhere: no such file or folder/);
    const badSave = segkit(d, 'predict', 'images', '--model', 'unet', '--save', 'mask,heatmap');
    assert.match(badSave.out, /unknown output 'heatmap'; choose from mask, color, overlay, panel, probs/);
  } finally {
    tmp.done();
  }
});
