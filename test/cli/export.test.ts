// `segkit export` as a user runs it on a run's best.safetensors: the model, its options, classes
// and normalisation come from the file's metadata into the ONNX file's metadata_props, and ONNX
// Runtime's logits equal the model's at a size other than the traced one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as torch from '../../src/torch/index.js';
import { create, type SegmentationOutput } from '../../src/models/index.js';
import { saveWeights } from '../../src/io/index.js';
import { readOnnxMetadata } from '../../src/export/index.js';
import { repoRoot } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const segkit = (cwd: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
};

test('export a best.safetensors: metadata from the run, ONNX Runtime equals segkit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-cli-export-'));
  const options = { baseWidth: 4, depth: 3, upsampling: 'bilinear' };
  torch.manualSeed(5);
  const model = create('unet', { numClasses: 3, ...options });
  try {
    saveWeights(model, join(dir, 'best.safetensors'), {
      'segkit.model': 'unet',
      'segkit.options': JSON.stringify({ ...options, numClasses: 3 }),
      'segkit.classes': JSON.stringify(['background', 'circle', 'square']),
      'segkit.normalize': JSON.stringify({ mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] }),
    });
    const r = segkit(dir, 'export', '--weights', 'best.safetensors', '-o', 'shapes.onnx');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /wrote shapes\.onnx \([\d.]+ MB, opset 17\)/);
    assert.match(r.out, /input 'input' float32 \[batch, 3, height, width\]; output 'out' logits for 3 classes \(background, circle, square\)/);

    const meta = await readOnnxMetadata(join(dir, 'shapes.onnx'));
    assert.equal(meta['segkit.model'], 'unet');
    assert.deepEqual(JSON.parse(meta['segkit.options']), { ...options, numClasses: 3 });
    assert.deepEqual(JSON.parse(meta['segkit.classes']), ['background', 'circle', 'square']);
    assert.deepEqual(JSON.parse(meta['segkit.normalize']), { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] });
    assert.equal(JSON.parse(meta['segkit.palette']).length, 3);
    assert.deepEqual(JSON.parse(meta['segkit.input']), { layout: 'NCHW', channels: 3, range: 'RGB scaled to [0, 1], then (x - mean) / std per channel', sizeMultiple: 1, padsTo: 8 });

    model.eval();
    const x = torch.randn([1, 3, 45, 30]);
    const session = await ort.InferenceSession.create(join(dir, 'shapes.onnx'), { intraOpNumThreads: 1 });
    try {
      const expected = torch.tidy(() => torch.inferenceMode(() => (model.call(x) as SegmentationOutput).out).data() as Float32Array);
      const { out } = await session.run({ input: new ort.Tensor('float32', x.data() as Float32Array, [1, 3, 45, 30]) });
      assert.deepEqual(out.dims, [1, 3, 45, 30]);
      const got = out.data as Float32Array;
      const maxErr = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
      assert.ok(maxErr <= 1e-4, `max abs error ${maxErr}`);
    } finally {
      x.dispose();
      await session.release();
    }

    // a model name the registry lacks is refused with the close names
    const bad = segkit(dir, 'export', '--model', 'unet_resnet35', '-o', 'x.onnx');
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /unknown model 'unet_resnet35'; did you mean/);
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
