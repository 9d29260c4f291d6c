// The layout chooser: it measures each layout once per model, shape and machine, caches the
// choice, honours overrides, leaves the model in the chosen layout, and measuring a training step
// leaves no trace in the model (gradients, BatchNorm statistics). Timings themselves are not tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { BatchNorm2d, Conv2d, ReLU, Sequential, chooseLayout, prepareForInference, prepareForTraining, type Layout } from '../../src/nn/index.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const net = (): Sequential => new Sequential(new Conv2d(3, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new Conv2d(8, 2, 1));
const layoutOf = (m: Sequential): Layout => ((m.at(0) as Conv2d).weight.isContiguous('channels_last') ? 'channels_last' : 'nchw');
const tempCache = (): { file: string; done: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-layout-'));
  return { file: join(dir, 'layouts.json'), done: () => rmSync(dir, { recursive: true, force: true }) };
};

test('measures both layouts once, caches the choice per model and shape, and applies it', () => {
  const cache = tempCache();
  const m = net();
  const x = torch.randn([2, 3, 16, 16]);
  let steps = 0;
  const step = (input: torch.Tensor) => torch.tidy(() => void (steps++, m.call(input)));
  const first = chooseLayout(m, x, 'eval', step, { cacheFile: cache.file, minSeconds: 0 });
  assert.equal(first.source, 'measured');
  assert.ok(first.seconds.nchw! > 0 && first.seconds.channels_last! > 0, 'both layouts were timed');
  assert.equal(steps, 4, 'one warm-up and one timed step per layout');
  assert.equal(layoutOf(m), first.layout);
  const again = chooseLayout(m, x, 'eval', step, { cacheFile: cache.file });
  assert.deepEqual([again.source, again.layout, steps], ['cache', first.layout, 4]);
  const saved = JSON.parse(readFileSync(cache.file, 'utf8')) as Record<string, { layout: string }>;
  const key = Object.keys(saved)[0];
  assert.match(key, /2x3x16x16 float32 \| eval$/);
  assert.match(key, /torch 1\.13/);
  // another input shape is another measurement
  const y = torch.randn([1, 3, 24, 24]);
  assert.equal(chooseLayout(m, y, 'eval', step, { cacheFile: cache.file }).source, 'measured');
  for (const t of [x, y]) t.dispose();
  m.dispose();
  cache.done();
});

test('an override (option or SEGKIT_LAYOUT) skips measuring', () => {
  const m = net();
  const x = torch.randn([1, 3, 8, 8]);
  const never = () => assert.fail('must not measure');
  assert.deepEqual(chooseLayout(m, x, 'eval', never, { layout: 'channels_last' }), { layout: 'channels_last', seconds: {}, source: 'override' });
  assert.equal(layoutOf(m), 'channels_last');
  process.env.SEGKIT_LAYOUT = 'nchw';
  try {
    assert.equal(chooseLayout(m, x, 'eval', never).layout, 'nchw');
    assert.equal(layoutOf(m), 'nchw');
    process.env.SEGKIT_LAYOUT = 'sideways';
    assert.throws(() => chooseLayout(m, x, 'eval', never), /SEGKIT_LAYOUT must be nchw, channels_last or auto, got 'sideways'/);
  } finally {
    delete process.env.SEGKIT_LAYOUT;
  }
  x.dispose();
  m.dispose();
});

test('prepareForTraining leaves no gradients and the BatchNorm statistics as they were', () => {
  const cache = tempCache();
  const m = net();
  const bn = m.at(1) as BatchNorm2d;
  const before = torch.tidy(() => [bn.running_mean!, bn.running_var!, bn.num_batches_tracked!].map((t) => t.toArray()));
  const x = torch.randn([2, 3, 16, 16]);
  const choice = prepareForTraining(m, x, { cacheFile: cache.file });
  assert.equal(choice.source, 'measured');
  assert.ok(m.training);
  for (const p of m.parameters()) assert.equal(p.grad, undefined);
  assert.deepEqual([bn.running_mean!, bn.running_var!, bn.num_batches_tracked!].map((t) => t.toArray()), before);
  x.dispose();
  m.dispose();
  cache.done();
});

test('prepareForInference folds BatchNorm, goes to eval mode and keeps the outputs', () => {
  const cache = tempCache();
  const m = net();
  const x = torch.randn([2, 3, 16, 16]);
  m.eval();
  const expected = torch.inferenceMode(() => m.call(x));
  prepareForInference(m, x, { cacheFile: cache.file });
  assert.equal(m.training, false);
  assert.equal(m.at(1).constructor.name, 'Identity');
  torch.tidy(() => {
    const y = torch.inferenceMode(() => m.call(x));
    assert.ok(y.sub(expected).abs().max().item() < 1e-5);
  });
  for (const t of [x, expected]) t.dispose();
  m.dispose();
  cache.done();
});
