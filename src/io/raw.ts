// Tensors as plain bytes: what the weight readers produce and the writers take. The torch layer
// turns a RawTensor into a libtorch tensor and back; nothing here touches native code.

export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'bool';

export interface RawTensor {
  dtype: DType;
  shape: number[];
  /** Little-endian, contiguous, row-major. May be a view into a file buffer: copy before mutating. */
  data: Uint8Array;
}

const SIZES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
};

export const DTYPES = Object.keys(SIZES) as readonly DType[];

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(SIZES, value);
}

/** Bytes per element. */
export function dtypeSize(dtype: DType): number {
  if (!isDType(dtype)) throw new Error(`unknown dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(', ')}`);
  return SIZES[dtype];
}

/** Number of elements of a shape; [] (a scalar) has 1. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True for a RawTensor-shaped object (the readers return these among plain JS values). */
export function isRawTensor(value: unknown): value is RawTensor {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Partial<RawTensor>;
  return isDType(t.dtype) && Array.isArray(t.shape) && t.data instanceof Uint8Array;
}

/**
 * Throws unless `t` is a well-formed RawTensor: known dtype, shape of non-negative integers and
 * exactly numel × dtypeSize bytes of data. `what` names the tensor in the message.
 */
export function checkRawTensor(t: RawTensor, what: string): void {
  if (!isDType(t.dtype)) throw new Error(`${what}: unknown dtype ${JSON.stringify(t.dtype)}; expected one of ${DTYPES.join(', ')}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${what}: shape ${JSON.stringify(t.shape)} must be a list of non-negative integers`);
  }
  const expected = numel(t.shape) * dtypeSize(t.dtype);
  if (!(t.data instanceof Uint8Array) || t.data.byteLength !== expected) {
    throw new Error(
      `${what}: ${t.dtype} ${JSON.stringify(t.shape)} needs ${expected} bytes but data has ${t.data?.byteLength ?? 'no'} bytes`,
    );
  }
}
