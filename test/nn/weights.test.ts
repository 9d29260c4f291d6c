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
import { readStateDict } from '../../src/io/pth.js';
import { manualSeed } from '../../src/torch/index.js';
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
