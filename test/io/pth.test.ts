import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fixture } from '../paths.js';
import type { DType, RawTensor } from '../../src/io/raw.js';
import { gather, readCheckpoint, readStateDict, readTorchFile } from '../../src/io/pth.js';

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

test('refuses a checkpoint that would run code, and runs nothing', () => {
  rmSync(expected.marker, { force: true });
  const path = pth('malicious.pth');
  assert.throws(
    () => readStateDict(path),
    (e: Error) => e.message.includes(path) && e.message.includes(expected.malicious['pth/malicious.pth']) && e.message.includes('wants to run code'),
  );
  // A raw malicious pickle fed to the torch reader is refused the same way.
  for (const name of ['evil_os_system.pkl', 'evil_eval.pkl', 'evil_subprocess.pkl']) {
    assert.throws(() => readTorchFile(fixture('io', 'pickle', name)), /wants to run code/, name);
  }
  assert.throws(() => readTorchFile(pth('whole_model.pth')), /__main__\.Net/);
  assert.equal(existsSync(expected.marker), false);
});

test('explains files that are not torch.save checkpoints', () => {
  assert.throws(() => readTorchFile(pth('plain.pkl')), /plain pickle, not a torch\.save file/);
  assert.throws(() => readTorchFile(fixture('io', 'safetensors', 'all_dtypes.safetensors')), /readSafetensors/);
  const legacy = readFileSync(pth('legacy.pth'));
  assert.throws(() => readTorchFile(legacy.subarray(0, legacy.length - 20)), /truncated/);
  assert.throws(() => readTorchFile(Uint8Array.from([1, 2, 3])), /not a torch\.save file/);
  assert.throws(() => readTorchFile(pth('torchscript.pt')), /TorchScript archive/);
});

test('reads from bytes as well as from a path', () => {
  const fromBytes = readTorchFile(readFileSync(pth('dtypes.pth'))) as Map<string, RawTensor>;
  assertTensor(fromBytes.get('bf16'), expected.pth['dtypes.pth'].tensors.bf16, 'bf16');
});
