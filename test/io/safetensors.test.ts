import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../paths.js';
import { DTYPES, type DType, type RawTensor, dtypeSize, numel } from '../../src/io/raw.js';
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from '../../src/io/safetensors.js';

interface ExpectedTensor {
  dtype: DType;
  shape: number[];
  hex: string;
}
const expected = JSON.parse(readFileSync(fixture('io', 'expected.json'), 'utf8')) as {
  safetensors: Record<string, { tensors: Record<string, ExpectedTensor>; metadata: Record<string, string>; canonical: boolean }>;
  hostile: Record<string, string>;
};
const hex = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');

test('parses hand-written files of every dtype exactly, as views into the file', () => {
  for (const [name, want] of Object.entries(expected.safetensors)) {
    const bytes = readFileSync(fixture('io', 'safetensors', name));
    const { tensors, metadata } = parseSafetensors(bytes, name);
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(want.tensors).sort(), name);
    for (const [key, t] of tensors) {
      const w = want.tensors[key];
      assert.equal(t.dtype, w.dtype, `${name} ${key}`);
      assert.deepEqual(t.shape, w.shape, `${name} ${key}`);
      assert.equal(hex(t.data), w.hex, `${name} ${key}`);
      assert.equal(t.data.buffer, bytes.buffer, `${name} ${key} should not be copied`);
    }
    assert.deepEqual(metadata, want.metadata, name);
  }
});

test('serializes byte-identically to the reference layout (dtype alignment, then name)', () => {
  for (const [name, want] of Object.entries(expected.safetensors)) {
    if (!want.canonical) continue;
    const bytes = readFileSync(fixture('io', 'safetensors', name));
    const { tensors, metadata } = readSafetensors(fixture('io', 'safetensors', name));
    const again = serializeSafetensors(tensors, Object.keys(metadata).length > 0 ? metadata : undefined);
    assert.equal(Buffer.compare(again, bytes), 0, name);
  }
});

test('matches the reference implementation on its own small cases', () => {
  const f32 = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);
  const cases: [string, number[], string][] = [
    ['attn.0', [1, 2, 3], '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'], // 64 bytes: no padding
    ['attn0', [1, 1, 2, 3], '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       '], // 65 + 7 spaces
  ];
  for (const [name, shape, header] of cases) {
    const out = serializeSafetensors({ [name]: { dtype: 'float32', shape, data: f32 } });
    const want = Buffer.concat([Buffer.alloc(8), Buffer.from(header), f32]);
    want.writeBigUInt64LE(BigInt(header.length));
    assert.equal(Buffer.compare(out, want), 0, name);
  }
  const empty = serializeSafetensors(new Map());
  assert.deepEqual([...empty], [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
  assert.equal(parseSafetensors(empty).tensors.size, 0);
});

test('rejects each hostile file with an error naming the file and the problem', () => {
  const names = Object.keys(expected.hostile);
  assert.ok(names.length >= 15);
  for (const [name, message] of Object.entries(expected.hostile)) {
    const path = fixture('io', 'safetensors', 'hostile', name);
    assert.throws(
      () => readSafetensors(path),
      (err: Error) => err.message.includes(path) && err.message.includes(message),
      `${name} should fail with "${message}"`,
    );
  }
});

function randomTensor(dtype: DType, shape: number[], seed: number): RawTensor {
  const data = new Uint8Array(numel(shape) * dtypeSize(dtype));
  let x = seed;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = dtype === 'bool' ? (x >>> 16) & 1 : x >>> 24;
  }
  return { dtype, shape, data };
}

test('round-trips every dtype, scalars and empty tensors through serialize and parse', () => {
  const tensors = new Map<string, RawTensor>();
  DTYPES.forEach((dtype, i) => {
    tensors.set(`t.${dtype}`, randomTensor(dtype, [2, 3, i + 1], i + 1));
    tensors.set(`scalar.${dtype}`, randomTensor(dtype, [], 100 + i));
    tensors.set(`empty.${dtype}`, randomTensor(dtype, [0, 4], 0));
  });
  const bytes = serializeSafetensors(tensors, { format: 'pt', '0': 'integer-like key' });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLength % 8, 0);
  const back = parseSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: 'pt', '0': 'integer-like key' });
  assert.equal(back.tensors.size, tensors.size);
  for (const [name, t] of tensors) {
    const b = back.tensors.get(name)!;
    assert.equal(b.dtype, t.dtype, name);
    assert.deepEqual(b.shape, t.shape, name);
    assert.equal(hex(b.data), hex(t.data), name);
    // Sorting by alignment keeps every tensor aligned to its element size.
    assert.equal((b.data.byteOffset - 8 - headerLength) % dtypeSize(b.dtype), 0, name);
  }
});

test('refuses to serialize a tensor whose data does not match its shape', () => {
  const bad = { dtype: 'float32' as const, shape: [2, 2], data: new Uint8Array(12) };
  assert.throws(() => serializeSafetensors({ w: bad }), /"w".*needs 16 bytes but data has 12/);
  assert.throws(() => serializeSafetensors({ w: { ...bad, dtype: 'complex64' as DType } }), /unknown dtype "complex64"/);
});

test('writes atomically, leaving no temporary file, and overwrites', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-st-'));
  try {
    const path = join(dir, 'w.safetensors');
    const t = randomTensor('float32', [3], 7);
    writeSafetensors(path, { a: t }, { step: '1' });
    writeSafetensors(path, { b: t }, { step: '2' });
    assert.deepEqual(readdirSync(dir), ['w.safetensors']);
    const back = readSafetensors(path);
    assert.deepEqual([...back.tensors.keys()], ['b']);
    assert.deepEqual(back.metadata, { step: '2' });
    assert.throws(() => writeSafetensors(join(dir, 'missing', 'x.safetensors'), { a: t }), /ENOENT/);
    assert.deepEqual(readdirSync(dir), ['w.safetensors']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
