// src/io/weights.ts: modules to and from safetensors files and PyTorch checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';
import { loadWeights, readWeights, saveWeights } from '../../src/io/weights.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { readStateDict } from '../../src/io/checkpoint.js';
import { manualSeed } from '../../src/torch/index.js';
import * as nn from '../../src/nn/index.js';
import { assertIdentical } from './helpers.js';
import { Net } from './net.js';

checkLeaksEachTest();

const pth = fixture('nn', 'net.pth');

function inTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-nn-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('loadWeights reads a .pth checkpoint into the module', () => {
  const net = new Net();
  const result = loadWeights(net, pth);
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
  const want = readStateDict(pth);
  assertIdentical(net.heads.get('aux').stateDict().get('1.weight')!, want.get('heads.aux.1.weight')!, 'heads.aux.1.weight');
  net.dispose();
});

test('safetensors save → load round trip gives identical tensors, dtypes included', () => inTempDir((dir) => {
  manualSeed(1);
  const a = new Net();
  loadWeights(a, pth);
  a.toChannelsLast(); // strided parameters are written in PyTorch's (contiguous) order
  const path = join(dir, 'net.safetensors');
  saveWeights(a, path, { epoch: '3' });
  assert.deepEqual(readdirSync(dir), ['net.safetensors'], 'no temporary file left behind');

  const file = readSafetensors(path);
  assert.deepEqual(file.metadata, { format: 'pt', epoch: '3' });
  assert.equal(file.tensors.get('stem.1.num_batches_tracked')!.dtype, 'int64');
  assert.deepEqual([...file.tensors.keys()].sort(), [...a.stateDict().keys()].sort());

  manualSeed(2);
  const b = new Net();
  loadWeights(b, path);
  const sa = a.stateDict();
  for (const [k, t] of b.stateDict()) {
    assert.equal(t.dtype, sa.get(k)!.dtype, k);
    assert.deepEqual(t.toArray(), sa.get(k)!.toArray(), k);
  }
  a.dispose();
  b.dispose();
}));

test('errors name the file; stripPrefix removes a DataParallel prefix', () => inTempDir((dir) => {
  const path = join(dir, 'prefixed.safetensors');
  const sd = readStateDict(pth);
  writeSafetensors(path, new Map([...sd].map(([k, v]) => [`module.${k}`, v])));
  const net = new Net();
  assert.throws(() => loadWeights(net, path), (e: Error) => e.message.startsWith(`${path}: Error(s) in loading state_dict for Net`) && /stripPrefix/.test(e.message));
  assert.deepEqual(loadWeights(net, path, { stripPrefix: 'module.' }).unexpectedKeys, []);
  assert.equal(readWeights(path, { stripPrefix: 'module.' }).size, sd.size);
  assert.throws(() => saveWeights(net, join(dir, 'x.pth')), /writes weights as safetensors only/);
  // a checkpoint's own errors name the file too, not the bytes read from it
  const script = fixture('io', 'pth', 'torchscript.pt');
  assert.throws(() => loadWeights(net, script), (e: Error) => e.message.startsWith(`${script}: this is a TorchScript archive`));
  net.dispose();
}));

/** segkit's twin of gen_io.py's Net (conv, bn, fc). */
class IoNet extends nn.Module {
  conv = new nn.Conv2d(3, 4, 3, { padding: 1, bias: false });
  bn = new nn.BatchNorm2d(4);
  fc = new nn.Linear(4, 2);
}

test('loadWeights reads a torchvision-references checkpoint and a torch.save(model) file', () => {
  const cases: [string, () => nn.Module, { key?: string; stripPrefix?: string; strict?: boolean }][] = [
    // {model, optimizer, lr_scheduler, epoch, args: Namespace, model_ema, scaler}; the EMA copy adds its n_averaged count
    ['references_checkpoint.pth', () => new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Conv2d(4, 3, 1)), {}],
    ['references_checkpoint.pth', () => new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Conv2d(4, 3, 1)), { key: 'model_ema', stripPrefix: 'module.', strict: false }],
    ['whole_model.pth', () => new IoNet(), {}],
    ['whole_model_legacy.pth', () => new IoNet(), {}],
    ['checkpoint_model_object.pth', () => new IoNet(), {}],
  ];
  for (const [name, make, opts] of cases) {
    const path = fixture('io', 'pth', name);
    const net = make();
    const result = loadWeights(net, path, opts);
    const what = `${name} ${JSON.stringify(opts)}`;
    if (opts.key === 'model_ema') assert.deepEqual(result.unexpectedKeys, ['n_averaged'], what);
    else assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] }, what);
    const want = readWeights(path, opts);
    for (const [k, t] of net.stateDict()) assertIdentical(t, want.get(k)!, `${what} ${k}`);
    net.dispose();
  }
});
