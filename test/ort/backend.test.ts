// The ONNX Runtime backend: a segkit model exported to ONNX and run by onnxruntime-node predicts
// what libtorch predicts (probabilities within 1e-4, equal masks) with test-time scales, flips and
// sliding windows, from the API and from `segkit predict` / `segkit eval`, whose scores are equal;
// `--backend auto` times both once and caches the choice; wrong combinations say what to give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../src/torch/index.js';
import { create } from '../../src/models/index.js';
import { exportOnnx, writeOnnx } from '../../src/export/index.js';
import { saveWeights, readSafetensors } from '../../src/io/index.js';
import { readMask } from '../../src/io/image.js';
import { openOnnx } from '../../src/ort/session.js';
import { classIds, predictProbabilities } from '../../src/predict/inference.js';
import { repoRoot } from '../paths.js';
import { pairs, stripes, tempDir } from '../data/synth.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const segkit = (cwd: string, env: Record<string, string>, ...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args, '--threads', '1'], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout + r.stderr, stdout: r.stdout, stderr: r.stderr };
};
const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());
const normalize = { mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3] };
const metadata = { 'segkit.model': 'unet', 'segkit.classes': ['background', 'circle', 'square'], 'segkit.palette': [[0, 0, 0], [255, 0, 0], [0, 255, 0]], 'segkit.normalize': normalize };

test('ONNX Runtime predicts as libtorch: probabilities within 1e-4 and equal masks, with scales, flip and windows', async () => {
  torch.manualSeed(11);
  for (const numClasses of [3, 1]) {
    const model = create('unet', { numClasses, baseWidth: 4, depth: 2 }).eval();
    const onnx = await openOnnx({ bytes: exportOnnx(model, { metadata }), source: 'unet.onnx' }, { threads: 1 });
    assert.deepEqual(onnx.metadata, { model: 'unet', classes: metadata['segkit.classes'], palette: metadata['segkit.palette'], normalize });
    assert.equal(onnx.outputChannels ?? numClasses, numClasses);
    const x = torch.randn([1, 3, 37, 50]);
    for (const opts of [{}, { scales: [0.75, 1.25], flip: true }, { window: { size: 24, overlap: 0.5 }, flip: true }]) {
      const a = await predictProbabilities(model, x, opts);
      const b = await predictProbabilities(onnx.forward, x, opts);
      assert.ok(maxDiff(a, b) < 1e-4, `${numClasses} classes, ${JSON.stringify(opts)}: max difference ${maxDiff(a, b)}`);
      assert.deepEqual(torch.tidy(() => classIds(b).toArray()), torch.tidy(() => classIds(a).toArray()));
      a.dispose();
      b.dispose();
    }
    x.dispose();
    await onnx.release();
    model.dispose();
  }
});

/** A small RGB PNG of smooth colour ramps (so both backends see the same pixels, with structure). */
async function writeImage(file: string, width: number, height: number, seed: number): Promise<void> {
  const b = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) {
    b[(y * width + x) * 3 + c] = (x * (7 + c + seed) + y * (11 - c) * (seed + 1)) % 256;
  }
  await sharp(b, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

test('segkit predict and eval with --backend ort equal --backend torch; --backend auto measures once and caches', async () => {
  const tmp = tempDir('segkit-ort-cli-');
  try {
    const d = tmp.dir;
    torch.manualSeed(12);
    const model = create('unet', { numClasses: 3, baseWidth: 4, depth: 2 });
    // as segkit train saves it: the model's name and options travel with the weights
    saveWeights(model, join(d, 'unet.safetensors'), { 'segkit.model': 'unet', 'segkit.options': JSON.stringify({ numClasses: 3, baseWidth: 4, depth: 2 }) });
    await writeOnnx(model, join(d, 'unet.onnx'), { metadata });
    model.dispose();
    await writeImage(join(d, 'a.png'), 40, 30, 1);
    await writeImage(join(d, 'b.png'), 23, 35, 2);
    const env = { XDG_CACHE_HOME: join(d, 'cache') };
    const torchFlags = ['--weights', 'unet.safetensors', '--mean', normalize.mean.join(','), '--std', normalize.std.join(',')];
    const common = ['a.png', 'b.png', '--save', 'mask,probs', '--scales', '0.75,1', '--flip', '--window', '24'];

    const t = segkit(d, env, 'predict', ...common, ...torchFlags, '-o', 'torch');
    assert.equal(t.status, 0, t.out);
    // the exported model alone: its classes and normalisation come from its metadata
    const o = segkit(d, env, 'predict', ...common, '--weights', 'unet.onnx', '-o', 'ort');
    assert.equal(o.status, 0, o.out);
    assert.match(o.stderr, /unet \(unet.onnx, ONNX Runtime\); normalise mean 0.5,0.4,0.3 std 0.25,0.2,0.3/);
    assert.match(o.stdout, /1 circle/);
    for (const f of ['a', 'b']) {
      assert.deepEqual(Array.from((await readMask(join(d, 'ort', `${f}.png`))).data), Array.from((await readMask(join(d, 'torch', `${f}.png`))).data), `${f}: masks equal`);
      const [pt, po] = ['torch', 'ort'].map((dir) => torch.fromRaw(readSafetensors(join(d, dir, `${f}_probs.safetensors`)).tensors.get('probs')!));
      assert.ok(maxDiff(pt!, po!) < 1e-4, `${f}: probabilities within 1e-4 (max ${maxDiff(pt!, po!)})`);
      pt!.dispose();
      po!.dispose();
    }

    // eval: the same scores
    await pairs(join(d, 'ds'), 'images', 'masks', 3, (k) => stripes([0, 1, 2, 255], k));
    writeFileSync(join(d, 'ds', 'labelmap.json'), JSON.stringify({ classes: ['background', 'circle', 'square'] }));
    const et = segkit(d, env, 'eval', 'ds', ...torchFlags, '--flip', '-o', 'eval-torch');
    assert.equal(et.status, 0, et.out);
    const eo = segkit(d, env, 'eval', 'ds', '--backend', 'ort', '--onnx', 'unet.onnx', '--flip', '-o', 'eval-ort');
    assert.equal(eo.status, 0, eo.out);
    const report = (dir: string) => JSON.parse(readFileSync(join(d, dir, 'report.json'), 'utf8'));
    const [rt, ro] = [report('eval-torch'), report('eval-ort')];
    assert.equal(ro.backend, 'ort');
    assert.deepEqual(ro.metrics, rt.metrics);

    // auto: both timed at the first input size, the choice cached; the masks stay the same
    const a1 = segkit(d, env, 'predict', 'a.png', ...torchFlags, '--backend', 'auto', '--onnx', 'unet.onnx', '-o', 'auto');
    assert.equal(a1.status, 0, a1.out);
    assert.match(a1.stderr, /backend for 1x3x30x40 inputs: (libtorch|ONNX Runtime) \(libtorch [\d.]+ s, ONNX Runtime [\d.]+ s per pass\)/);
    const cache = JSON.parse(readFileSync(join(d, 'cache', 'segkit', 'backends.json'), 'utf8')) as Record<string, { backend: string }>;
    assert.equal(Object.keys(cache).length, 1);
    assert.match(Object.keys(cache)[0]!, /onnxruntime 1\.\d+\.\d+ \| .* \| 1x3x30x40 float32$/);
    const a2 = segkit(d, env, 'predict', 'a.png', ...torchFlags, '--backend', 'auto', '--onnx', 'unet.onnx', '-o', 'auto');
    assert.match(a2.stderr, /backend for 1x3x30x40 inputs: (libtorch|ONNX Runtime) \(measured earlier, cached\)/);
    // without --onnx: the model exported in memory for the comparison, cached under the exporter's format
    const a3 = segkit(d, env, 'predict', 'b.png', ...torchFlags, '--backend', 'auto', '-o', 'auto');
    assert.equal(a3.status, 0, a3.out);
    assert.match(a3.stderr, /exporting unet to ONNX \(in memory\)/);
    assert.match(a3.stderr, /backend for 1x3x35x23 inputs: (libtorch|ONNX Runtime) \(libtorch [\d.]+ s, ONNX Runtime [\d.]+ s per pass\)/);
    const cached = Object.keys(JSON.parse(readFileSync(join(d, 'cache', 'segkit', 'backends.json'), 'utf8')));
    assert.ok(cached.some((k) => / \| segkit export \d+ \| 1x3x35x23 float32$/.test(k)), cached.join('\n'));
    const plainTorch = segkit(d, env, 'predict', 'a.png', ...torchFlags, '-o', 'plain');
    assert.equal(plainTorch.status, 0, plainTorch.out);
    assert.deepEqual(Array.from((await readMask(join(d, 'auto', 'a.png'))).data), Array.from((await readMask(join(d, 'plain', 'a.png'))).data));
  } finally {
    tmp.done();
  }
});

test('wrong combinations and broken metadata say what to give', async () => {
  const tmp = tempDir('segkit-ort-errors-');
  try {
    const d = tmp.dir;
    torch.manualSeed(13);
    const model = create('unet', { numClasses: 2, baseWidth: 4, depth: 2 });
    await writeOnnx(model, join(d, 'm.onnx'));
    await writeOnnx(model, join(d, 'bad.onnx'), { metadata: { 'segkit.palette': 'red' } });
    model.dispose();
    await writeImage(join(d, 'a.png'), 16, 16, 3);
    const env = { XDG_CACHE_HOME: join(d, 'cache') };
    assert.match(segkit(d, env, 'predict', 'a.png', '--backend', 'ort').out, /--backend ort runs an exported model: give --onnx model.onnx \(or --weights model.onnx\)/);
    assert.match(segkit(d, env, 'predict', 'a.png', '--backend', 'torch', '--weights', 'm.onnx').out, /m.onnx is an ONNX model: run it with --backend ort/);
    assert.match(segkit(d, env, 'predict', 'a.png', '--weights', 'm.onnx', '--num-classes', '5').out, /m.onnx predicts 2 output channels, not --num-classes 5/);
    assert.match(segkit(d, env, 'predict', 'a.png', '--weights', 'bad.onnx').out, /bad.onnx: metadata segkit.palette should be a JSON array of \[r, g, b\] colours, got red/);
    assert.match(segkit(d, env, 'predict', 'a.png', '--weights', 'gone.onnx').out, /gone.onnx: cannot read the ONNX model \(ENOENT\)/);
    writeFileSync(join(d, 'junk.onnx'), 'not a model');
    assert.match(segkit(d, env, 'predict', 'a.png', '--weights', 'junk.onnx').out, /junk.onnx: (not a readable ONNX model|ONNX Runtime cannot load it)/);
    // no metadata: ImageNet's normalisation, said so
    const plain = segkit(d, env, 'predict', 'a.png', '--weights', 'm.onnx', '-o', 'out');
    assert.equal(plain.status, 0, plain.out);
    assert.match(plain.stderr, /ImageNet's: the file has no segkit.normalize/);
  } finally {
    tmp.done();
  }
});
