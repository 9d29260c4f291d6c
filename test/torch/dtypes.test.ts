// dtypes: making tensors from TypedArrays and nested arrays, reading the data back, converting
// between dtypes, item(); channels-last memory format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, fromRaw, randn, tensor, tidy, toRaw, type DType } from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';

const DTYPES: DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'uint8', 'int32', 'int64', 'bool'];
const ARRAY_OF: Record<DType, string> = {
  float32: 'Float32Array', float16: 'Uint16Array', bfloat16: 'Uint16Array', float64: 'Float64Array',
  uint8: 'Uint8Array', int8: 'Int8Array', int16: 'Int16Array', int32: 'Int32Array', int64: 'BigInt64Array', bool: 'Uint8Array',
};
const isInt = (d: DType) => d !== 'bool' && !['float32', 'float16', 'bfloat16', 'float64'].includes(d);

// Values every dtype holds exactly (after truncation for the integer ones).
const VALUES = [0, 1, 2, 3.75, 100];
/** What PyTorch gives for VALUES converted to `d`. */
function expectedIn(d: DType, values: number[]): number[] {
  if (d === 'bool') return values.map((v) => (v !== 0 ? 1 : 0));
  if (isInt(d)) return values.map(Math.trunc);
  return values;
}

test('nested arrays of every dtype round-trip through data(), toArray() and item()', withNoLeaks(() => tidy(() => {
  for (const d of DTYPES) {
    const t = tensor([VALUES.slice(0, 2), VALUES.slice(2, 4)], { dtype: d });
    assert.equal(t.dtype, d);
    assert.deepEqual(t.shape, [2, 2]);
    assert.equal(t.data().constructor.name, ARRAY_OF[d], `${d} data() type`);
    assert.deepEqual(t.toArray(), expectedIn(d, VALUES.slice(0, 4)), `${d} values`);
    const one = tensor([3], { dtype: d });
    assert.equal(one.item(), d === 'bool' ? (true as unknown as number) : 3, `${d} item()`);
  }
  // defaults: numbers are float32, booleans bool
  assert.equal(tensor([[1, 2]]).dtype, 'float32');
  assert.equal(tensor([true, false]).dtype, 'bool');
  assert.deepEqual(tensor(5).shape, []);
  assert.equal(tensor(5).item(), 5);
})));

test('TypedArrays keep their dtype and data; int64 keeps values beyond 2^53 exactly', withNoLeaks(() => tidy(() => {
  const f = new Float32Array([1.5, -2.25, 3e-8, 1e30]);
  assert.deepEqual(Array.from(tensor(f).data() as Float32Array), Array.from(f));
  const d = new Float64Array([Math.PI, -1e-300, 1e300]);
  assert.deepEqual(Array.from(tensor(d).data() as Float64Array), Array.from(d));
  const i = new Int32Array([-2147483648, 2147483647, 0]);
  assert.deepEqual(Array.from(tensor(i).data() as Int32Array), Array.from(i));
  const big = new BigInt64Array([9007199254740993n, -9223372036854775808n, 9223372036854775807n]);
  const tb = tensor(big);
  assert.equal(tb.dtype, 'int64');
  assert.deepEqual(Array.from(tb.data() as BigInt64Array), Array.from(big));
  const u = new Uint8Array([0, 128, 255]);
  assert.deepEqual(Array.from(tensor(u).data() as Uint8Array), [0, 128, 255]);
  // a shape for a flat TypedArray, and a dtype that converts on the way in
  const m = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3], dtype: 'int64' });
  assert.deepEqual([m.shape, m.dtype, m.toArray()], [[2, 3], 'int64', [1, 2, 3, 4, 5, 6]]);
  // the input is copied: changing it afterwards does not change the tensor
  const src = new Float32Array([1, 2]);
  const c = tensor(src);
  src[0] = 99;
  assert.deepEqual(c.toArray(), [1, 2]);
})));

test('float16 and bfloat16 read out as their raw IEEE bits; fromRaw/toRaw round-trip bytes', withNoLeaks(() => tidy(() => {
  // 1, -2, 0.5 in half: 0x3c00, 0xc000, 0x3800; in bfloat16: 0x3f80, 0xc000, 0x3f00
  assert.deepEqual(Array.from(tensor([1, -2, 0.5], { dtype: 'float16' }).data() as Uint16Array), [0x3c00, 0xc000, 0x3800]);
  assert.deepEqual(Array.from(tensor([1, -2, 0.5], { dtype: 'bfloat16' }).data() as Uint16Array), [0x3f80, 0xc000, 0x3f00]);
  for (const d of DTYPES) {
    const t = tensor([[0, 1, 2], [3, 4, 5]], { dtype: d });
    const raw = toRaw(t);
    assert.deepEqual([raw.dtype, raw.shape], [d, [2, 3]]);
    const back = fromRaw(raw);
    assert.deepEqual(back.toArray(), t.toArray(), `${d} fromRaw(toRaw(t))`);
  }
  // bytes at an odd offset inside a bigger buffer (as in a weights file)
  const file = new Uint8Array(9);
  new DataView(file.buffer).setFloat32(1, 2.5, true);
  new DataView(file.buffer).setFloat32(5, -1, true);
  assert.deepEqual(fromRaw({ dtype: 'float32', shape: [2], data: file.subarray(1) }).toArray(), [2.5, -1]);
})));

test('.to() converts between every pair of dtypes like PyTorch', withNoLeaks(() => tidy(() => {
  for (const from of DTYPES) {
    const src = tensor(VALUES, { dtype: from });
    const held = expectedIn(from, VALUES);
    for (const to of DTYPES) {
      const t = src.to(to);
      assert.equal(t.dtype, to, `${from} -> ${to}`);
      assert.deepEqual(t.toArray(), expectedIn(to, held), `${from} -> ${to}`);
    }
  }
  // rounding to the nearest half / bfloat16 value, truncation toward zero for integers
  assert.deepEqual(tensor([1 / 3]).half().float().toArray(), [0.333251953125]);
  assert.deepEqual(tensor([1 / 3]).bfloat16().float().toArray(), [0.333984375]);
  assert.deepEqual(tensor([-2.7, 2.7]).int().toArray(), [-2, 2]);
  assert.deepEqual(tensor([0, -0.5, 3]).bool().toArray(), [0, 1, 1]);
  // the option form, and a no-op conversion
  assert.equal(tensor([1]).to({ dtype: 'float64' }).dtype, 'float64');
  assert.equal(tensor([1]).to('float32').dtype, 'float32');
})));

test('channels-last: layout, flags, logical data and conv2d results', withNoLeaks(() => tidy(() => {
  const x = randn([2, 3, 5, 4]);
  const cl = x.contiguous('channels_last');
  const info = cl.info();
  assert.equal(info.channelsLast, true);
  assert.equal(x.info().channelsLast, false);
  assert.deepEqual(info.shape, [2, 3, 5, 4]);
  assert.deepEqual(info.strides, [60, 1, 12, 3], 'NHWC strides');
  assert.equal(cl.isContiguous('channels_last'), true);
  assert.equal(cl.isContiguous(), false);
  // data() is in logical NCHW order whatever the layout
  assert.deepEqual(cl.toArray(), x.toArray());
  assert.equal(cl.contiguous().info().channelsLast, false);
  assert.throws(() => cl.dataView(), /contiguous/);

  const w = randn([6, 3, 3, 3]);
  const b = randn([6]);
  const ref = F.conv2d(x, w, b, { padding: 1 });
  for (const [xin, win] of [[cl, w], [cl, w.contiguous('channels_last')], [x, w.contiguous('channels_last')]]) {
    const y = F.conv2d(xin, win, b, { padding: 1 });
    assert.equal(y.info().channelsLast, true, 'a channels-last operand gives a channels-last result');
    assert.ok(y.allclose(ref, 1e-5, 1e-5), 'same values as the contiguous conv2d');
  }
})));

test('dataView() shares memory with the tensor', withNoLeaks(() => {
  const t = tensor([1, 2, 3]);
  const v = t.dataView() as Float32Array;
  v[1] = 42;
  assert.deepEqual(t.toArray(), [1, 42, 3]);
  t.dispose();
  assert.equal(v[1], 42, 'the view keeps the storage alive after dispose');
}));

test('bad data is refused with a message', withNoLeaks(() => {
  assert.throws(() => tensor([[1, 2], [3]]), /ragged/);
  assert.throws(() => tensor(new Uint16Array(2) as unknown as Float32Array), /Uint16Array/);
  assert.throws(() => tensor(new Float32Array(3), { shape: [2, 2] }), /needs 16 bytes, got 12/);
  assert.throws(() => tensor([1], { dtype: 'complex64' as DType }), /unknown dtype 'complex64'/);
}));
