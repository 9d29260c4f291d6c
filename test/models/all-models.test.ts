// Every semantic model in the registry, as a user meets it through models.create: logits at the
// input's size for an odd-sized input, a training step whose gradients reach every trainable
// parameter, eval outputs that survive a safetensors round trip into a fresh model, BatchNorm
// folding and channels-last that leave eval outputs unchanged, and no leaked tensors. Parity
// with the reference implementations is in torchvision.test.ts and smp.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { create, listModels, type SegmentationOutput } from '../../src/models/index.js';
import { fuseConvBn, setLayout, type Module } from '../../src/nn/index.js';
import { loadWeights, saveWeights } from '../../src/io/index.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const NUM_CLASSES = 3;
const H = 37;
const W = 53; // odd, and not a multiple of any stride
// small widths where the builder has them, so the suite stays quick
const small: Record<string, Record<string, unknown>> = { unet: { baseWidth: 4, depth: 3 } };

const maxAbsDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());
const evalOut = (m: Module, x: torch.Tensor): torch.Tensor => torch.inferenceMode(() => (m.call(x) as SegmentationOutput).out);

for (const entry of listModels('semantic')) {
  test(`${entry.name}: odd-sized input, training step, round trip, fused and channels-last eval`, () => {
    torch.manualSeed(0);
    const model = create(entry.name, { numClasses: NUM_CLASSES, ...(small[entry.name] ?? {}) });
    const x = torch.randn([2, 3, H, W]);
    const dir = mkdtempSync(join(tmpdir(), 'segkit-models-'));
    try {
      // training: logits at the input's size, gradients for every trainable parameter
      model.train();
      torch.tidy(() => {
        const { out } = model.call(x) as SegmentationOutput;
        assert.deepEqual(out.shape, [2, NUM_CLASSES, H, W]);
        out.mul(out).mean().backward();
      });
      const noGrad = torch.tidy(() => model.namedParameters().filter(([, p]) => p.requiresGrad && p.grad === undefined).map(([n]) => n));
      assert.deepEqual(noGrad, [], 'every trainable parameter gets a gradient');
      model.zeroGrad();

      // eval: deterministic, and equal after saving and loading into a freshly built model
      model.eval();
      const ref = evalOut(model, x);
      const again = evalOut(model, x);
      assert.equal(maxAbsDiff(ref, again), 0, 'eval is deterministic');
      const file = join(dir, `${entry.name}.safetensors`);
      saveWeights(model, file);
      const fresh = create(entry.name, { numClasses: NUM_CLASSES, ...(small[entry.name] ?? {}) });
      loadWeights(fresh, file);
      fresh.eval();
      const loaded = evalOut(fresh, x);
      assert.equal(maxAbsDiff(ref, loaded), 0, 'outputs after a safetensors round trip');

      // inference preparation changes speed, not results
      fuseConvBn(fresh);
      setLayout(fresh, 'channels_last');
      const xcl = x.contiguous('channels_last');
      const fast = evalOut(fresh, xcl);
      const scale = torch.tidy(() => ref.abs().max().item());
      assert.ok(maxAbsDiff(ref, fast) <= 1e-4 * Math.max(1, scale), `fused, channels-last: ${maxAbsDiff(ref, fast)}`);
      for (const t of [ref, again, loaded, xcl, fast]) t.dispose();
      fresh.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      x.dispose();
      model.dispose();
    }
  });
}
