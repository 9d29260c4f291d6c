// Shared by the nn tests: build a layer from the fixture's spec, read reference tensors, compare.
import assert from 'node:assert/strict';
import * as nn from '../../src/nn/index.js';
import { Tensor, fromRaw } from '../../src/torch/index.js';
import type { RawTensor } from '../../src/io/raw.js';

/** {layer, args, kwargs} with PyTorch's names, as gen_nn.py writes it; nested specs build containers. */
export interface LayerSpec {
  layer: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

const isSpec = (v: unknown): v is LayerSpec => typeof v === 'object' && v !== null && 'layer' in v;
const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** PyTorch positional args stay positional; keyword args become the camelCase options object. */
export function build(spec: LayerSpec): nn.Module {
  const Layer = (nn as unknown as Record<string, new (...a: unknown[]) => nn.Module>)[spec.layer];
  assert.ok(Layer, `segkit nn has no layer ${spec.layer}`);
  const args = spec.args.map((a) => (isSpec(a) ? build(a) : a));
  const opts = Object.fromEntries(Object.entries(spec.kwargs).map(([k, v]) => [camel(k), v]));
  return Object.keys(opts).length > 0 ? new Layer(...args, opts) : new Layer(...args);
}

/** A float32 RawTensor's values (copied out of a possibly unaligned file buffer). */
export function values(raw: RawTensor): Float64Array {
  assert.equal(raw.dtype, 'float32');
  return Float64Array.from(new Float32Array(new Uint8Array(raw.data).buffer));
}

/** max |a - e| / max |e|: the error relative to the reference's scale (0 when both are all zeros). */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'element counts differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Asserts shape and values of `actual` against the reference within `tol` relative error. */
export function assertClose(actual: Tensor, expected: RawTensor, what: string, tol = 1e-5): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dtype === 'float32' ? Float64Array.from(actual.data() as Float32Array) : Float64Array.from(actual.toArray());
  const err = relError(a, values(expected));
  assert.ok(err < tol, `${what}: relative error ${err.toExponential(2)} ≥ ${tol}`);
}

/** Bit-identical float32 values. */
export function assertIdentical(actual: Tensor, expected: RawTensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const a = Buffer.from(actual.data().buffer);
  assert.ok(a.equals(Buffer.from(expected.data)), `${what}: values differ from PyTorch's`);
}

/** The entries under `prefix/`, with the prefix removed. */
export function under(tensors: Map<string, RawTensor>, prefix: string): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [k, v] of tensors) if (k.startsWith(`${prefix}/`)) out.set(k.slice(prefix.length + 1), v);
  return out;
}

export const tensorOf = (raw: RawTensor): Tensor => fromRaw(raw);
