// Tensor: a handle to a libtorch tensor. Methods call ATen ops through the dispatcher; memory is
// freed by dispose(), by a tidy() scope, or by `using`, never by the garbage collector.
import { native, type Handle, type TensorInfo } from './native.js';
import { callOp, traceRead, traceShare } from './dispatch.js';
import { track, keep } from './scope.js';
import { viewAs, type AnyTypedArray, type DType, type Device, type MemoryFormat, type Scalar } from './dtype.js';

type TensorOrScalar = Tensor | Scalar;
export type Shape = number[];

export class Tensor {
  #h: Handle;

  /** @internal use the factory functions (tensor, zeros, ...) or ops instead */
  private constructor(h: Handle) {
    this.#h = h;
    track(this);
  }

  /** @internal */
  static _fromHandle(h: Handle): Tensor {
    return new Tensor(h);
  }

  /** The native handle; throws once the tensor is disposed. */
  get handle(): Handle {
    if (this.#h < 0) throw new Error('tensor used after dispose()');
    return this.#h;
  }

  get isDisposed(): boolean {
    return this.#h < 0;
  }

  dispose(): void {
    if (this.#h >= 0) {
      native.dispose(this.#h);
      this.#h = -1;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Keep this tensor alive past the enclosing tidy() scopes. */
  keep(): this {
    return keep(this);
  }

  // ---- metadata ----
  info(): TensorInfo {
    return native.info(this.handle);
  }
  get shape(): Shape {
    return native.shape(this.handle);
  }
  get dtype(): DType {
    return native.info(this.handle).dtype as DType;
  }
  get device(): string {
    return native.info(this.handle).device;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim: number): number {
    const s = this.shape;
    return s[dim < 0 ? s.length + dim : dim];
  }

  // ---- data out ----
  /** A copy of the data as a TypedArray of this dtype (float16/bfloat16 as raw Uint16 bits). */
  data(): AnyTypedArray {
    traceRead(this, 'data()');
    return viewAs(this.dtype, native.toBytes(this.handle));
  }
  /** The data as a plain number array (int64 converted to number). */
  toArray(): number[] {
    traceRead(this, 'toArray()');
    const dtype = this.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') return this.float().tidyData();
    const d = viewAs(dtype, native.toBytes(this.handle));
    if (d instanceof BigInt64Array) return Array.from(d, Number);
    return Array.from(d as ArrayLike<number>);
  }
  private tidyData(): number[] {
    const out = Array.from(this.data() as Float32Array);
    this.dispose();
    return out;
  }
  /** Zero-copy view of a contiguous CPU tensor's memory (it stays valid while the view is referenced). */
  dataView(): AnyTypedArray {
    traceRead(this, 'dataView()');
    return viewAs(this.dtype, native.dataView(this.handle));
  }
  item(): number {
    traceRead(this, 'item()');
    return native.item(this.handle) as number;
  }
  toString(): string {
    const i = this.info();
    return `Tensor(shape=[${i.shape}], dtype=${i.dtype}, device=${i.device}${i.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.info(this.handle).requiresGrad;
  }
  set requiresGrad(flag: boolean) {
    native.setRequiresGrad(this.handle, flag);
  }
  requiresGrad_(flag = true): this {
    native.setRequiresGrad(this.handle, flag);
    return this;
  }
  /** The accumulated gradient as a new handle (dispose it when done), or undefined. */
  get grad(): Tensor | undefined {
    const g = native.grad(this.handle);
    return g === undefined ? undefined : Tensor._fromHandle(g);
  }
  set grad(g: Tensor | undefined) {
    native.setGrad(this.handle, g ? g.handle : null);
  }
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this.handle], gradient ? [gradient.handle] : null, opts.retainGraph ?? false, opts.createGraph ?? false);
  }
  detach(): Tensor {
    return callOp('detach', this);
  }
  /** A second handle to the same tensor (same storage and autograd identity). */
  share(): Tensor {
    return traceShare(this, Tensor._fromHandle(native.share(this.handle)));
  }

  // ---- conversion ----
  to(target: DType | Device | { dtype?: DType; device?: Device | string; memoryFormat?: MemoryFormat; copy?: boolean }): Tensor {
    const o = typeof target === 'string' ? (isDevice(target) ? { device: target } : { dtype: target as DType }) : target;
    return callOp('to.dtype_layout', this, o.dtype, undefined, o.device, undefined, false, o.copy ?? false, o.memoryFormat);
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  half(): Tensor { return this.to('float16'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to({ device: 'cpu' }); }
  cuda(index = 0): Tensor { return this.to({ device: `cuda:${index}` }); }
  contiguous(memoryFormat: MemoryFormat = 'contiguous'): Tensor { return callOp('contiguous', this, memoryFormat); }
  clone(memoryFormat?: MemoryFormat): Tensor { return callOp('clone', this, memoryFormat); }
  /** Whether the strides are those of `memoryFormat` (is_contiguous is a TensorImpl method, not a dispatcher op). */
  isContiguous(memoryFormat: MemoryFormat = 'contiguous'): boolean {
    const { shape, strides } = this.info();
    if (memoryFormat === 'channels_last') return shape.length === 4 && denseInOrder(shape, strides, [1, 3, 2, 0]);
    if (memoryFormat === 'contiguous') return denseInOrder(shape, strides, shape.map((_, i) => shape.length - 1 - i));
    throw new Error(`isContiguous: memory format must be 'contiguous' or 'channels_last', got '${memoryFormat}'`);
  }

  // ---- arithmetic (Tensor or scalar operands, PyTorch broadcasting and type promotion) ----
  add(other: TensorOrScalar, alpha?: Scalar): Tensor { return binary('add', this, other, alpha); }
  sub(other: TensorOrScalar, alpha?: Scalar): Tensor { return binary('sub', this, other, alpha); }
  mul(other: TensorOrScalar): Tensor { return binary('mul', this, other); }
  div(other: TensorOrScalar): Tensor { return binary('div', this, other); }
  pow(exponent: TensorOrScalar): Tensor { return exponent instanceof Tensor ? callOp('pow.Tensor_Tensor', this, exponent) : callOp('pow.Tensor_Scalar', this, exponent); }
  remainder(other: TensorOrScalar): Tensor { return binary('remainder', this, other); }
  neg(): Tensor { return callOp('neg', this); }
  abs(): Tensor { return callOp('abs', this); }
  exp(): Tensor { return callOp('exp', this); }
  log(): Tensor { return callOp('log', this); }
  log1p(): Tensor { return callOp('log1p', this); }
  sqrt(): Tensor { return callOp('sqrt', this); }
  rsqrt(): Tensor { return callOp('rsqrt', this); }
  reciprocal(): Tensor { return callOp('reciprocal', this); }
  sign(): Tensor { return callOp('sign', this); }
  floor(): Tensor { return callOp('floor', this); }
  ceil(): Tensor { return callOp('ceil', this); }
  round(): Tensor { return callOp('round', this); }
  clamp(min?: number, max?: number): Tensor { return callOp('clamp', this, min, max); }
  matmul(other: Tensor): Tensor { return callOp('matmul', this, other); }
  mm(other: Tensor): Tensor { return callOp('mm', this, other); }
  sigmoid(): Tensor { return callOp('sigmoid', this); }
  tanh(): Tensor { return callOp('tanh', this); }
  relu(): Tensor { return callOp('relu', this); }
  softmax(dim: number): Tensor { return callOp('softmax.int', this, dim); }
  logSoftmax(dim: number): Tensor { return callOp('log_softmax.int', this, dim); }

  // ---- comparison ----
  eq(other: TensorOrScalar): Tensor { return binary('eq', this, other); }
  ne(other: TensorOrScalar): Tensor { return binary('ne', this, other); }
  lt(other: TensorOrScalar): Tensor { return binary('lt', this, other); }
  le(other: TensorOrScalar): Tensor { return binary('le', this, other); }
  gt(other: TensorOrScalar): Tensor { return binary('gt', this, other); }
  ge(other: TensorOrScalar): Tensor { return binary('ge', this, other); }
  logicalNot(): Tensor { return callOp('logical_not', this); }
  logicalAnd(other: Tensor): Tensor { return callOp('logical_and', this, other); }
  where(condition: Tensor, other: TensorOrScalar): Tensor {
    return other instanceof Tensor ? callOp('where.self', condition, this, other) : callOp('where.ScalarOther', condition, this, other);
  }
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return callOp('allclose', this, other, rtol, atol, false); }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim = false): Tensor { return dim === undefined ? callOp('sum', this) : callOp('sum.dim_IntList', this, dims(dim), keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return dim === undefined ? callOp('mean', this) : callOp('mean.dim', this, dims(dim), keepdim); }
  max(): Tensor { return callOp('max', this); }
  min(): Tensor { return callOp('min', this); }
  maxDim(dim: number, keepdim = false): [Tensor, Tensor] { return callOp('max.dim', this, dim, keepdim); }
  minDim(dim: number, keepdim = false): [Tensor, Tensor] { return callOp('min.dim', this, dim, keepdim); }
  amax(dim: number | number[], keepdim = false): Tensor { return callOp('amax', this, dims(dim), keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return callOp('argmax', this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return callOp('argmin', this, dim, keepdim); }
  norm(p = 2): Tensor { return callOp('norm.Scalar', this, p); }
  std(dim?: number | number[], unbiased = true, keepdim = false): Tensor { return callOp('std.correction', this, dim === undefined ? undefined : dims(dim), unbiased ? 1 : 0, keepdim); }
  var(dim?: number | number[], unbiased = true, keepdim = false): Tensor { return callOp('var.correction', this, dim === undefined ? undefined : dims(dim), unbiased ? 1 : 0, keepdim); }
  any(): Tensor { return callOp('any', this); }
  all(): Tensor { return callOp('all', this); }
  bincount(weights?: Tensor, minlength = 0): Tensor { return callOp('bincount', this, weights, minlength); }

  // ---- shape ----
  reshape(...shape: number[] | [number[]]): Tensor { return callOp('reshape', this, flat(shape)); }
  view(...shape: number[] | [number[]]): Tensor { return callOp('view', this, flat(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return callOp('flatten.using_ints', this, startDim, endDim); }
  permute(...order: number[] | [number[]]): Tensor { return callOp('permute', this, flat(order)); }
  transpose(dim0: number, dim1: number): Tensor { return callOp('transpose.int', this, dim0, dim1); }
  get T(): Tensor { return callOp('numpy_T', this); }
  unsqueeze(dim: number): Tensor { return callOp('unsqueeze', this, dim); }
  squeeze(dim?: number): Tensor { return dim === undefined ? callOp('squeeze', this) : callOp('squeeze.dim', this, dim); }
  expand(...shape: number[] | [number[]]): Tensor { return callOp('expand', this, flat(shape)); }
  expandAs(other: Tensor): Tensor { return callOp('expand_as', this, other); }
  repeat(...times: number[] | [number[]]): Tensor { return callOp('repeat', this, flat(times)); }
  narrow(dim: number, start: number, length: number): Tensor { return callOp('narrow', this, dim, start, length); }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor { return callOp('slice.Tensor', this, dim, start, end, step); }
  select(dim: number, index: number): Tensor { return callOp('select.int', this, dim, index); }
  indexSelect(dim: number, index: Tensor): Tensor { return callOp('index_select', this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return callOp('gather', this, dim, index, false); }
  maskedFill(mask: Tensor, value: Scalar): Tensor { return callOp('masked_fill.Scalar', this, mask, value); }
  chunk(chunks: number, dim = 0): Tensor[] { return callOp('chunk', this, chunks, dim); }
  split(size: number | number[], dim = 0): Tensor[] { return typeof size === 'number' ? callOp('split.Tensor', this, size, dim) : callOp('split_with_sizes', this, size, dim); }
  oneHot(numClasses = -1): Tensor { return callOp('one_hot', this, numClasses); }

  // ---- in place (return this) ----
  add_(other: TensorOrScalar, alpha?: Scalar): this { binary('add_', this, other, alpha); return this; }
  sub_(other: TensorOrScalar, alpha?: Scalar): this { binary('sub_', this, other, alpha); return this; }
  mul_(other: TensorOrScalar): this { binary('mul_', this, other); return this; }
  div_(other: TensorOrScalar): this { binary('div_', this, other); return this; }
  clamp_(min?: number, max?: number): this { callOp('clamp_', this, min, max); return this; }
  fill_(value: Scalar): this { callOp('fill_.Scalar', this, value); return this; }
  zero_(): this { callOp('zero_', this); return this; }
  copy_(src: Tensor): this { callOp('copy_', this, src, false); return this; }
  addcmul_(t1: Tensor, t2: Tensor, value: Scalar = 1): this { callOp('addcmul_', this, t1, t2, value); return this; }
  addcdiv_(t1: Tensor, t2: Tensor, value: Scalar = 1): this { callOp('addcdiv_', this, t1, t2, value); return this; }
  lerp_(end: Tensor, weight: Scalar): this { callOp('lerp_.Scalar', this, end, weight); return this; }
  uniform_(from = 0, to = 1): this { callOp('uniform_', this, from, to); return this; }
  normal_(mean = 0, std = 1): this { callOp('normal_', this, mean, std); return this; }
}

function isDevice(s: string): boolean {
  return s === 'cpu' || s === 'cuda' || s.startsWith('cuda:') || s === 'meta';
}

// Dense with `order` listing dims innermost first; size-1 dims may have any stride (as in c10).
function denseInOrder(shape: number[], strides: number[], order: number[]): boolean {
  if (shape.includes(0)) return true;
  let expected = 1;
  for (const d of order) {
    if (shape[d] === 1) continue;
    if (strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

function dims(d: number | number[]): number[] {
  return typeof d === 'number' ? [d] : d;
}

function flat(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

// Pick the Tensor or Scalar overload of a binary op (add.Tensor / add.Scalar, eq.Tensor / eq.Scalar).
// Only add and sub take an alpha; left out, it takes the schema's default.
function binary(name: string, self: Tensor, other: TensorOrScalar, alpha?: Scalar): Tensor {
  const key = other instanceof Tensor ? `${name}.Tensor` : `${name}.Scalar`;
  return alpha === undefined ? callOp(key, self, other) : callOp(key, self, other, alpha);
}
