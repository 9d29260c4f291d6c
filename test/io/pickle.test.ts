import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fixture } from '../paths.js';
import { isTuple, unpickle } from '../../src/io/pickle.js';

const expected = JSON.parse(readFileSync(fixture('io', 'expected.json'), 'utf8')) as {
  marker: string;
  pickle: Record<string, unknown>;
  malicious: Record<string, string>;
};

/** The same tagged JSON form gen_io.py writes for the Python value. */
function tag(v: unknown): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { $float: 'nan' };
    if (!Number.isFinite(v)) return { $float: v > 0 ? 'inf' : '-inf' };
    return Object.is(v, -0) ? { $negzero: true } : v;
  }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (isTuple(v)) return { $tuple: v.map(tag) };
  if (Array.isArray(v)) return v.map(tag);
  if (v instanceof Map) return { $dict: [...v].map(([k, x]) => [tag(k), tag(x)]) };
  if (v instanceof Set) return { $set: [...v].map(tag) };
  throw new Error(`untaggable value ${String(v)}`);
}

test('unpickles every value kind exactly, protocols 2 to 5', () => {
  for (const [name, want] of Object.entries(expected.pickle)) {
    const bytes = readFileSync(fixture('io', 'pickle', name));
    const { value, end } = unpickle(bytes, { source: name });
    assert.equal(end, bytes.byteLength, name);
    assert.deepEqual(tag(value), want, name);
    // Memoized objects come back as one object, as in Python.
    const shared = (value as Map<string, unknown[]>).get('shared')!;
    assert.equal(shared[0], shared[1], name);
  }
});

test('refuses pickles that would run code, and runs nothing', () => {
  rmSync(expected.marker, { force: true });
  for (const [name, wants] of Object.entries(expected.malicious)) {
    if (!name.startsWith('pickle/')) continue;
    const path = fixture('io', ...name.split('/'));
    assert.throws(
      () => unpickle(readFileSync(path), { source: path }),
      (err: Error) =>
        err.message.includes(path) &&
        err.message.includes(wants) &&
        err.message.includes('wants to run code') &&
        err.message.includes('does not execute pickles'),
      name,
    );
  }
  assert.equal(existsSync(expected.marker), false);
});

test('names the byte offset of an unknown or unsupported opcode', () => {
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0xff]), { source: 'x.pkl' }), /x\.pkl.*byte 2.*unknown pickle opcode 0xff/);
  // OBJ (protocol 1) is known but never interpreted.
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x28, 0x6f])), /byte 3.*unsupported pickle opcode OBJ/);
});

test('reports truncated and malformed pickles', () => {
  const bytes = readFileSync(fixture('io', 'pickle', 'values_p4.pkl'));
  assert.throws(() => unpickle(bytes.subarray(0, bytes.length - 40)), /ends/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x30, 0x2e])), /stack underflow/); // POP on empty stack
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 0x07, 0x2e])), /memo entry 7/); // BINGET 7
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4e, 0x51, 0x2e])), /persistent id without a loader/); // NONE BINPERSID
});

test('resolves extra globals from the caller allowlist only', () => {
  // GLOBAL 'my.mod Thing', EMPTY_TUPLE, REDUCE, STOP
  const bytes = Uint8Array.from([0x80, 0x02, ...Buffer.from('cmy.mod\nThing\n'), 0x29, 0x52, 0x2e]);
  assert.throws(() => unpickle(bytes), /my\.mod\.Thing/);
  const value = unpickle(bytes, { globals: (m, n) => (m === 'my.mod' && n === 'Thing' ? { module: m, name: n, call: () => 42 } : undefined) });
  assert.equal(value.value, 42);
});
