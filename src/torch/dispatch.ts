// The generic op call: resolve "name.overload" once through the c10 dispatcher, convert
// Tensor arguments to handles, and wrap the handles that come back.
import { native, type OpInfo } from './native.js';
import { Tensor } from './tensor.js';
import type { AtenOps } from './ops.generated.js';

const cache = new Map<string, OpInfo>();

/**
 * Sees every op call while a trace runs (the ONNX exporter records a forward pass this way):
 * `op` after each call with its key, arguments and result; `hint` for facts about sizes that
 * the ops alone do not show (see models/segmentation.ts padToMultiple); `read` when a tensor's
 * values leave libtorch (a graph cannot follow what JavaScript does with them).
 */
export interface OpTracer {
  op(key: string, args: unknown[], result: unknown): void;
  hint(kind: string, data: Record<string, unknown>): void;
  /** A tensor's values were read into JavaScript (`how`: 'item()', 'data()', ...). */
  read?(t: Tensor, how: string): void;
}

let tracer: OpTracer | undefined;

/** Runs `fn` with `t` seeing every callOp; one trace at a time. */
export function traceOps<T>(t: OpTracer, fn: () => T): T {
  if (tracer !== undefined) throw new Error('traceOps: a trace is already running (traces do not nest)');
  tracer = t;
  try {
    return fn();
  } finally {
    tracer = undefined;
  }
}

/** Whether a trace is running: code whose op sequence depends on sizes takes its general path then. */
export const isTracing = (): boolean => tracer !== undefined;

/** Tensor.share() makes a handle without an op: a trace sees it as the op 'segkit::share'. */
export function traceShare(source: Tensor, shared: Tensor): Tensor {
  tracer?.op('segkit::share', [source], shared);
  return shared;
}

/** Tensor.item()/data()/toArray()/dataView() read values without an op: a trace is told. */
export function traceRead(t: Tensor, how: string): void {
  tracer?.read?.(t, how);
}

/** Tells the running trace (if any) a fact about sizes, e.g. that a pad rounds up to a multiple. */
export function traceHint(kind: string, data: Record<string, unknown>): void {
  tracer?.hint(kind, data);
}

function resolve(key: string): OpInfo {
  let info = cache.get(key);
  if (!info) {
    const dot = key.indexOf('.');
    const name = dot < 0 ? key : key.slice(0, dot);
    const overload = dot < 0 ? '' : key.slice(dot + 1);
    info = native.resolveOp(name.includes('::') ? name : `aten::${name}`, overload);
    cache.set(key, info);
  }
  return info;
}

// A Tensor crosses as its handle id, a plain number: where the schema takes no tensor (an int,
// a size) it would be read as that number, so it is refused here.
function toNative(key: string, info: OpInfo, v: unknown, i: number): unknown {
  const takesTensor = info.tensorArgs[i] ?? true; // extra arguments: the native side reports the count
  if (v instanceof Tensor) {
    if (!takesTensor) notATensorArg(key, info, i);
    return v.handle;
  }
  if (Array.isArray(v) && v.length > 0 && v.some((x) => x instanceof Tensor || x === null)) {
    if (takesTensor) return v.map((x) => (x instanceof Tensor ? x.handle : null));
    if (v.some((x) => x instanceof Tensor)) notATensorArg(key, info, i);
  }
  return v;
}

function notATensorArg(key: string, info: OpInfo, i: number): never {
  throw new TypeError(`${key.includes('::') ? key : `aten::${key}`}: argument '${info.args[i]}' takes no tensor, got a Tensor (pass a number or an array of numbers)`);
}

function wrap(kind: OpInfo['returns'][number], v: unknown, args: unknown[], writes: number[], aliasIndex: number): unknown {
  switch (kind) {
    case 'Tensor':
      return Tensor._fromHandle(v as number);
    case 'Tensor?':
      return v === undefined ? undefined : Tensor._fromHandle(v as number);
    case 'Tensor[]':
      return (v as number[]).map((h) => Tensor._fromHandle(h));
    case 'alias':
      return args[writes[aliasIndex]];
    case 'value':
      return v;
  }
}

/**
 * Call any op by its schema key, e.g. `callOp('add.Tensor', a, b)`, `callOp('conv2d', x, w)`, or
 * another namespace's op with `callOp('torchvision::nms', ...)`. Arguments go in schema order;
 * `undefined` takes the schema's default.
 */
export function callOp(key: string, ...args: unknown[]): any {
  const info = resolve(key);
  const raw = native.callOp(info.id, args.map((v, i) => toNative(key, info, v, i)));
  const result = wrapAll(info, raw, args);
  tracer?.op(key, args, result);
  return result;
}

function wrapAll(info: OpInfo, raw: unknown, args: unknown[]): any {
  const n = info.returns.length;
  if (n === 0) return undefined;
  if (n === 1) return wrap(info.returns[0], raw, args, info.writes, 0);
  const arr = raw as unknown[];
  let alias = 0;
  return info.returns.map((k, i) => wrap(k, arr[i], args, info.writes, k === 'alias' ? alias++ : 0));
}

/** Typed access to every ATen op of the linked libtorch (signatures generated from its schemas). */
export function op<K extends keyof AtenOps>(key: K, ...args: Parameters<AtenOps[K]>): ReturnType<AtenOps[K]> {
  return callOp(key, ...args);
}
