// Making tensors: from JS data, from raw bytes (weights files), and the usual factories.
import { native } from './native.js';
import { callOp } from './dispatch.js';
import { Tensor, type Shape } from './tensor.js';
import { dtypeOfArray, type AnyTypedArray, type DType, type Device } from './dtype.js';
import type { RawTensor } from '../io/raw.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device | string;
  requiresGrad?: boolean;
}

type Nested = number | boolean | Nested[];

function shapeOf(data: Nested): number[] {
  const shape: number[] = [];
  let d: Nested = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = d[0] as Nested;
  }
  return shape;
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  let out = t;
  if (opts.device && opts.device !== 'cpu') {
    out = t.to({ device: opts.device });
    t.dispose();
  }
  if (opts.requiresGrad) out.requiresGrad_(true);
  return out;
}

function typedFor(dtype: DType, values: number[]): AnyTypedArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'int64': return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
    case 'int16': return Int16Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'uint8':
    case 'bool': return Uint8Array.from(values, (v) => (dtype === 'bool' ? (v ? 1 : 0) : v));
    default: return Float32Array.from(values);
  }
}

/**
 * A tensor from nested arrays or a TypedArray. Nested numbers default to float32; a TypedArray
 * keeps its own dtype unless `dtype` says otherwise, and is copied unless `copy: false`: then the
 * CPU tensor uses the array's memory (writes show on both sides; do not transfer or detach the
 * array while the tensor lives).
 */
export function tensor(data: Nested | AnyTypedArray, opts: CreateOptions & { shape?: Shape; copy?: boolean } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    const shape = opts.shape ?? [data.length];
    if (opts.copy === false) {
      if ((opts.dtype && opts.dtype !== own) || (opts.device && opts.device !== 'cpu')) {
        throw new Error(`tensor: copy: false shares the ${own} array's memory on the CPU; it cannot also convert to ${opts.dtype ?? own} on ${opts.device ?? 'cpu'}`);
      }
      return finish(Tensor._fromHandle(native.shareBytes(data, shape, own)), opts);
    }
    let t = Tensor._fromHandle(native.fromBytes(data, shape, own));
    if (opts.dtype && opts.dtype !== own) {
      const c = t.to(opts.dtype);
      t.dispose();
      t = c;
    }
    return finish(t, opts);
  }
  const shape = opts.shape ?? shapeOf(data);
  const flatList: (number | boolean)[] = Array.isArray(data) ? ((data as unknown[]).flat(Infinity) as (number | boolean)[]) : [data];
  const flatValues = flatList.map(Number);
  const dtype: DType = opts.dtype ?? (typeof flatList[0] === "boolean" ? "bool" : "float32");
  if (dtype === 'float16' || dtype === 'bfloat16') {
    return tensor(Float32Array.from(flatValues), { ...opts, shape, dtype });
  }
  const expected = shape.reduce((a, b) => a * b, 1);
  if (flatValues.length !== expected) {
    throw new Error(`tensor: ragged nested array (shape [${shape}] needs ${expected} values, got ${flatValues.length})`);
  }
  return finish(Tensor._fromHandle(native.fromBytes(typedFor(dtype, flatValues), shape, dtype)), opts);
}

/** A tensor from the raw little-endian bytes of a weights file (copied). */
export function fromRaw(raw: RawTensor): Tensor {
  // the bytes may sit at an unaligned offset inside a file buffer: fromBytes copies byte-wise
  return Tensor._fromHandle(native.fromBytes(raw.data, raw.shape, raw.dtype));
}

/** The raw little-endian bytes of a tensor (contiguous CPU copy), for writing weights files. */
export function toRaw(t: Tensor): RawTensor {
  return { dtype: t.dtype as RawTensor['dtype'], shape: t.shape, data: new Uint8Array(native.toBytes(t.handle)) };
}

const factory = (name: string) => (shape: Shape, opts: CreateOptions = {}): Tensor =>
  finish(callOp(name, shape, opts.dtype, undefined, opts.device), { requiresGrad: opts.requiresGrad });

export const zeros = factory('zeros');
export const ones = factory('ones');
export const empty = factory('empty.memory_format');
/** Uniform in [0, 1). */
export const rand = factory('rand');
/** Standard normal. */
export const randn = factory('randn');

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  return finish(callOp('full', shape, value, opts.dtype, undefined, opts.device), opts);
}
export function randint(low: number, high: number, shape: Shape, opts: CreateOptions = {}): Tensor {
  return finish(callOp('randint.low', low, high, shape, opts.dtype ?? 'int64', undefined, opts.device), opts);
}
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  return finish(callOp('arange.start_step', start, end, step, opts.dtype, undefined, opts.device), opts);
}
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  return finish(callOp('linspace', start, end, steps, opts.dtype, undefined, opts.device), opts);
}
export const zerosLike = (t: Tensor): Tensor => callOp('zeros_like', t);
export const onesLike = (t: Tensor): Tensor => callOp('ones_like', t);
export const cat = (tensors: Tensor[], dim = 0): Tensor => callOp('cat', tensors, dim);
export const stack = (tensors: Tensor[], dim = 0): Tensor => callOp('stack', tensors, dim);
export const where = (cond: Tensor, a: Tensor, b: Tensor): Tensor => callOp('where.self', cond, a, b);
