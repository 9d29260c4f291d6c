// src/io/pth.ts and checkpoint.ts: torch.save files (state dicts, checkpoints, whole pickled
// models) read without running their pickles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fixture } from '../paths.js';
import type { DType, RawTensor } from '../../src/io/raw.js';
import { gather, readTorchFile } from '../../src/io/pth.js';
import { readCheckpoint, readStateDict } from '../../src/io/checkpoint.js';
import { PyRecord, PyRef } from '../../src/io/pickle.js';
import { moduleStateDict } from '../../src/io/pickled-module.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

interface ExpectedTensor {
  dtype: DType;
  shape: number[];
  hex: string;
}
interface ExpectedFile {
  key: string | null;
  tensors: Record<string, ExpectedTensor>;
  extras?: Record<string, unknown>;
  param_groups?: unknown[];
  momentum?: Record<string, ExpectedTensor>;
  /** The class of a whole pickled model (torch.save(model)). */
  module_class?: string;
  /** references_checkpoint.pth: the model_ema entry's state dict. */
  ema_tensors?: Record<string, ExpectedTensor>;
}
const expected = JSON.parse(readFileSync(fixture('io', 'expected.json'), 'utf8')) as {
  marker: string;
  pth: Record<string, ExpectedFile>;
  malicious: Record<string, string>;
};
const pth = (name: string): string => fixture('io', 'pth', name);
const hex = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');

function assertTensor(t: unknown, want: ExpectedTensor, what: string): void {
  const r = t as RawTensor;
  assert.equal(r.dtype, want.dtype, what);
  assert.deepEqual(r.shape, want.shape, what);
  assert.equal(hex(r.data), want.hex, what);
}

const OPTIONS: Record<string, { key?: string; stripPrefix?: string }> = {
  'checkpoint_two.pth': { key: 'ema' },
  'checkpoint_prefixed.pth': { stripPrefix: 'module.' },
};

test('reads every torch.save fixture exactly as PyTorch wrote it', () => {
  for (const [name, want] of Object.entries(expected.pth)) {
    const ckpt = readCheckpoint(pth(name), OPTIONS[name]);
    assert.equal(ckpt.key, want.key, name);
    assert.equal(ckpt.moduleClass, want.module_class ?? null, name);
    assert.deepEqual([...ckpt.stateDict.keys()], Object.keys(want.tensors), name);
    for (const [key, t] of ckpt.stateDict) assertTensor(t, want.tensors[key], `${name} ${key}`);
  }
});

test('honours storage offsets, strides and shared storages (views, tied weights)', () => {
  const sd = readStateDict(pth('views.pth'));
  // The same Python tensor twice is one object; a contiguous view shares its storage's bytes.
  assert.equal(sd.get('tied'), sd.get('base'));
  assert.equal(sd.get('row')!.data.buffer, sd.get('base')!.data.buffer);
  // Hand-computed: base is arange(24).reshape(4, 6); strided = base[1:3, ::2].
  assert.deepEqual([...new Float32Array(sd.get('strided')!.data.slice().buffer)], [6, 8, 10, 12, 14, 16]);
  // gather on its own: a (2, 3) view with strides (1, 2) at offset 1 of [0..7] (int8).
  const src = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([...gather(src, 1, 1, [2, 3], [1, 2])], [1, 3, 5, 2, 4, 6]);
  assert.throws(() => gather(src, 1, 4, [2, 3], [1, 2]), /past the end of its storage/);
});

test('finds the state dict inside a checkpoint and returns the rest as plain values', () => {
  const want = expected.pth['checkpoint_nested.pth'];
  const { key, extras } = readCheckpoint(pth('checkpoint_nested.pth'));
  assert.equal(key, 'model');
  const { optimizer, ...rest } = extras as { optimizer: { state: Record<string, { momentum_buffer: RawTensor }>; param_groups: unknown[] } };
  assert.deepEqual(rest, want.extras);
  assert.deepEqual(optimizer.param_groups, want.param_groups);
  assert.deepEqual(Object.keys(optimizer.state), Object.keys(want.momentum!));
  for (const [i, s] of Object.entries(optimizer.state)) assertTensor(s.momentum_buffer, want.momentum![i], `momentum ${i}`);
  assert.deepEqual(readCheckpoint(pth('checkpoint_prefixed.pth'), { stripPrefix: 'module.' }).extras, { epoch: 7 });
});

test('asks for a key when the choice is ambiguous or wrong', () => {
  assert.throws(() => readStateDict(pth('checkpoint_two.pth')), /several dicts of tensors \("model", "ema"\).*key/);
  assert.throws(() => readStateDict(pth('checkpoint_two.pth'), { key: 'ema2' }), /no top-level key "ema2"; the keys are "model", "ema"/);
  assert.throws(() => readStateDict(pth('checkpoint_nested.pth'), { key: 'epoch' }), /"epoch" holds a number, not a dict of tensors/);
  const prefixed = readStateDict(pth('checkpoint_prefixed.pth'));
  assert.ok([...prefixed.keys()].every((k) => k.startsWith('module.')));
});

test('reads a torchvision-references checkpoint: model, args, optimizer, lr_scheduler, scaler', () => {
  const name = 'references_checkpoint.pth';
  const want = expected.pth[name];
  const { key, extras, stateDict } = readCheckpoint(pth(name));
  assert.equal(key, 'model', 'model_ema is not taken unless asked for');
  assert.deepEqual([...stateDict.keys()], Object.keys(want.tensors));
  assert.deepEqual(Object.keys(extras), ['optimizer', 'lr_scheduler', 'epoch', 'args', 'model_ema', 'scaler']);
  const { optimizer, model_ema: ema, ...rest } = extras as {
    optimizer: { state: Record<string, { momentum_buffer: RawTensor }>; param_groups: unknown[] };
    model_ema: Record<string, RawTensor>;
  };
  // args is the argparse.Namespace's fields; lr_scheduler the nested SequentialLR state
  assert.deepEqual(rest, want.extras);
  assert.deepEqual(optimizer.param_groups, want.param_groups);
  for (const [i, s] of Object.entries(optimizer.state)) assertTensor(s.momentum_buffer, want.momentum![i], `momentum ${i}`);
  assert.deepEqual(Object.keys(ema), Object.keys(want.ema_tensors!));

  const averaged = readCheckpoint(pth(name), { key: 'model_ema' });
  assert.deepEqual([...averaged.stateDict.keys()], Object.keys(want.ema_tensors!));
  for (const [k, t] of averaged.stateDict) assertTensor(t, want.ema_tensors![k], `model_ema ${k}`);
  assert.equal(readStateDict(pth(name), { key: 'model_ema', stripPrefix: 'module.' }).get('0.weight')!.data.byteLength, 4 * 4 * 3 * 3 * 3);
});

test('reads a whole pickled model (torch.save(model)) from its inert module records', () => {
  // Keys, order and bytes come from the generic check above; here, what the walk skips and shares.
  const sd = readStateDict(pth('whole_model_tree.pth'));
  const keys = [...sd.keys()];
  for (const skipped of ['extra.unused', 'extra.cache', 'extra.nothing', 'extra.missing']) assert.ok(!keys.some((k) => k.startsWith(skipped)), skipped);
  assert.equal(sd.get('extra.shared.weight'), sd.get('head.weight'), 'a shared module gives the same tensor under both names');
  assert.deepEqual(readCheckpoint(pth('checkpoint_model_object.pth')).extras, expected.pth['checkpoint_model_object.pth'].extras);
  // The rest of the pickle is there to read, as inert records: nothing was run to build it.
  const model = readTorchFile(pth('whole_model_tree.pth')) as PyRecord;
  const extra = (model.attributes().get('_modules') as Map<string, PyRecord>).get('extra')!;
  const normLayer = extra.attributes().get('norm_layer') as PyRecord;
  assert.equal(normLayer.className, 'functools.partial');
  assert.deepEqual(normLayer.args, [new PyRef('torch.nn.modules.batchnorm', 'BatchNorm2d')]);
  assert.throws(() => readStateDict(pth('whole_model.pth'), { key: 'model' }), /whole pickled model \(__main__\.Net\).*leave out key/);
});

test('a module tree that is a cycle or holds a non-tensor parameter is an error', () => {
  const module = (params: [string, unknown][], children: [string, unknown][]): PyRecord => {
    const r = new PyRecord(new PyRef('m', 'M'), []);
    r.state = new Map<string, unknown>([['_parameters', new Map(params)], ['_buffers', new Map()], ['_modules', new Map(children)]]);
    return r;
  };
  const loop = module([], []);
  (loop.attributes().get('_modules') as Map<string, unknown>).set('self', loop);
  assert.throws(() => moduleStateDict(loop, 'x.pth'), /x\.pth: self \(m\.M\) contains itself/);
  const odd = module([['weight', 'text']], []);
  assert.throws(() => moduleStateDict(module([], [['conv', odd]]), 'x.pth'), /x\.pth: conv\.weight in conv \(m\.M\) is a string, not a tensor/);
  const quantized = new PyRecord(new PyRef('torch._utils', '_rebuild_qtensor'), []);
  assert.throws(() => moduleStateDict(module([['w', quantized]], []), 'x.pth'), /w in the pickled m\.M is a tensor rebuilt by torch\._utils\._rebuild_qtensor/);
  let deep = module([], []);
  for (let i = 0; i < 1001; i++) deep = module([], [['c', deep]]);
  assert.throws(() => moduleStateDict(deep, 'x.pth'), /deeper than 1000 levels/);
});

test('refuses a checkpoint that would run code, and runs nothing', () => {
  rmSync(expected.marker, { force: true });
  for (const [name, wants] of Object.entries(expected.malicious)) {
    if (!name.startsWith('pth/')) continue;
    const path = pth(name.slice('pth/'.length));
    assert.throws(
      () => readStateDict(path),
      (e: Error) => e.message.includes(path) && e.message.includes(wants) && e.message.includes('wants to run code'),
      name,
    );
  }
  // A raw malicious pickle fed to the torch reader is refused the same way.
  for (const name of Object.keys(expected.malicious).filter((n) => n.startsWith('pickle/'))) {
    assert.throws(() => readTorchFile(fixture('io', ...name.split('/'))), /wants to run code/, name);
  }
  assert.equal(existsSync(expected.marker), false);
});

test('explains files that are not torch.save checkpoints', () => {
  assert.throws(() => readTorchFile(pth('plain.pkl')), /plain pickle, not a torch\.save file/);
  assert.throws(() => readTorchFile(fixture('io', 'safetensors', 'all_dtypes.safetensors')), /readSafetensors/);
  for (const name of ['legacy.pth', 'whole_model_legacy.pth']) {
    const legacy = readFileSync(pth(name));
    assert.throws(() => readTorchFile(legacy.subarray(0, legacy.length - 20)), /truncated/, name);
    assert.throws(() => readTorchFile(legacy.subarray(0, Math.floor(legacy.length / 2))), /cannot unpickle|truncated/, name);
  }
  assert.throws(() => readTorchFile(Uint8Array.from([1, 2, 3])), /not a torch\.save file/);
  assert.throws(() => readTorchFile(pth('torchscript.pt')), /TorchScript archive/);
});

test('reads from bytes as well as from a path', () => {
  const fromBytes = readTorchFile(readFileSync(pth('dtypes.pth'))) as Map<string, RawTensor>;
  assertTensor(fromBytes.get('bf16'), expected.pth['dtypes.pth'].tensors.bf16, 'bf16');
});
