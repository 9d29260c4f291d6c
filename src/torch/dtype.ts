// dtypes and devices as strings, the way a user writes them.
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'bool';
export type MemoryFormat = 'contiguous' | 'channels_last' | 'preserve';
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type Scalar = number | boolean | bigint;

export const FLOAT_DTYPES: ReadonlySet<DType> = new Set(['float32', 'float16', 'bfloat16', 'float64']);
export const isFloating = (d: DType): boolean => FLOAT_DTYPES.has(d);

/** The TypedArray each dtype reads into (float16/bfloat16 come as raw Uint16 bits). */
export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : D extends 'int64'
        ? BigInt64Array
        : D extends 'int16'
          ? Int16Array
          : D extends 'int8'
            ? Int8Array
            : D extends 'float16' | 'bfloat16'
              ? Uint16Array
              : Uint8Array;

export type AnyTypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint16Array | Uint8Array;

export function viewAs(dtype: DType, buf: ArrayBuffer, byteOffset = 0, length?: number): AnyTypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buf, byteOffset, length);
    case 'float64': return new Float64Array(buf, byteOffset, length);
    case 'int32': return new Int32Array(buf, byteOffset, length);
    case 'int64': return new BigInt64Array(buf, byteOffset, length);
    case 'int16': return new Int16Array(buf, byteOffset, length);
    case 'int8': return new Int8Array(buf, byteOffset, length);
    case 'float16':
    case 'bfloat16': return new Uint16Array(buf, byteOffset, length);
    case 'uint8':
    case 'bool': return new Uint8Array(buf, byteOffset, length);
  }
}

/** The dtype a TypedArray holds when no dtype is given. */
export function dtypeOfArray(a: AnyTypedArray | Uint8ClampedArray | Uint32Array): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  throw new TypeError(`no tensor dtype for ${a.constructor.name}: convert it to Float32Array, Int32Array or BigInt64Array`);
}
