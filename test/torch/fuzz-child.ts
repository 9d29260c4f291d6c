// The fuzz run of test/torch/errors.test.ts, in a child process so a crash is reported, not
// fatal. Usage: node dist/test/torch/fuzz-child.js SEED CALLS TRACE_FILE
// Throws seeded random, mostly wrong arguments at ~45 ops (generic dispatcher calls, Tensor
// methods, functional and factory wrappers), some inside runAsync, and prints one JSON line:
// { calls, threw, ok, asyncBatches, leaked, badErrors }. Before each call it writes what it is
// about to do to TRACE_FILE, so the parent can name the call that crashed.
import { closeSync, openSync, writeSync } from 'node:fs';
import { F, Tensor, arange, callOp, full, memory, native, ones, runAsync, tensor, tidy, zeros } from '../../src/torch/index.js';

const [seed, calls, traceFile] = [Number(process.argv[2] ?? 1), Number(process.argv[3] ?? 2000), process.argv[4]];

function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const chance = (p: number) => rand() < p;

const start = memory().tensors;
// ---- the tensors the calls get (never replaced: results are freed after each call) ----
const pool: Tensor[] = tidy(() => [
  tensor(2.5), ones([3]), tensor([[1, -2, 3], [4, 5, -6]]), F.relu(ones([1, 3, 4, 4]).mul(0.5)),
  arange(100).reshape(2, 2, 5, 5).float(), tensor([0, 1, 3, 2], { dtype: 'int64' }), tensor([[true, false, true], [false, true, true]]),
  ones([2, 3], { dtype: 'float16' }), tensor([1, 200, 255], { dtype: 'uint8' }), zeros([0, 3]),
  ones([1, 3, 4, 4]).contiguous('channels_last'), tensor([1, 2, 3], { requiresGrad: true }),
]);
const disposed = ones([2]);
disposed.dispose();

// ---- wrong values: the kinds of mistakes a caller makes ----
const WRONG: readonly unknown[] = [
  NaN, Infinity, -Infinity, -1, -7, 1.5, -0, 1e12, 2 ** 40, 2 ** 53, 2 ** 63, -(2 ** 63), 'x', '3', '', true, false, null,
  undefined, {}, [], [1, 'a'], [NaN], [[2]], [-1, -1], [2 ** 40, 2 ** 40], 3n, -(2n ** 70n), Symbol('s'), () => 1,
  new Float32Array(2), disposed, [disposed], 16777216, 'float128', 'cuda', 'meta', 'cuda:99', 'nhwc',
];
const DTYPES = ['float32', 'float16', 'bfloat16', 'float64', 'uint8', 'int32', 'int64', 'bool', 'int8'];

/** A plausible value for a schema type, or (often) a wrong one. */
let wrongRate = 0.3; // per call: 0 (plausible arguments, to reach the kernels) or 0.3

function valueFor(type: string): unknown {
  if (chance(wrongRate)) return pick(WRONG);
  const opt = /^Optional\[(.*)\]$/.exec(type);
  if (opt) return chance(0.3) ? undefined : valueFor(opt[1]);
  const small = () => pick([0, 1, 2, 3, 5, -1, -2]);
  switch (type) {
    case 'Tensor': return chance(0.95) ? pick(pool) : disposed;
    case 'List[Tensor]': case 'List[Optional[Tensor]]': return Array.from({ length: 1 + Math.floor(rand() * 3) }, () => (chance(0.9) ? pick(pool) : pick([null, disposed, 4])));
    case 'int': case 'SymInt': return small();
    case 'List[int]': case 'List[SymInt]': return Array.from({ length: Math.floor(rand() * 5) }, small);
    case 'float': return pick([0, 0.5, 1, -1, 2.5, 1e-5]);
    case 'List[float]': return [pick([0.5, 2, 1.5]), pick([0.5, 2, 1.5])];
    case 'number': return pick([0, 1, -1, 0.5, 255, true]);
    case 'bool': return chance(0.5);
    case 'str': return pick(['mean', 'sum', 'none', 'same', 'valid', 'tanh', 'reflect']);
    case 'ScalarType': return pick(DTYPES);
    case 'MemoryFormat': return pick(['contiguous', 'channels_last', 'preserve']);
    case 'Device': return pick(['cpu', 'cpu', 'meta']);
    case 'Layout': return 'strided';
    default: return undefined;
  }
}

// ---- the ops: generic calls through the dispatcher, by schema ----
const KEYS = [
  'add.Tensor', 'mul.Scalar', 'div.Tensor_mode', 'matmul', 'conv2d', 'conv_transpose2d.input', 'max_pool2d', 'avg_pool2d',
  'adaptive_avg_pool2d', 'upsample_bilinear2d.vec', 'upsample_nearest2d.vec', 'batch_norm', 'group_norm', 'layer_norm',
  'cross_entropy_loss', 'nll_loss_nd', 'softmax.int', 'log_softmax.int', 'sum.dim_IntList', 'mean.dim', 'argmax',
  'bincount', 'one_hot', 'gather', 'index_select', 'cat', 'stack', 'permute', 'reshape', 'view', 'expand', 'narrow',
  'select.int', 'repeat', 'constant_pad_nd', 'reflection_pad2d', 'zeros', 'full', 'arange.start_step', 'randn', 'randint.low',
  'to.dtype_layout', 'clamp', 'masked_fill.Scalar', 'where.self', 'linear', 'embedding', 'topk', 'sort', 'unique_dim',
];
const schemas = new Map(native.listSchemas().map((s) => [`${s.name.slice(6)}${s.overload ? `.${s.overload}` : ''}`, s]));

function genericCall(): [string, () => unknown] {
  wrongRate = chance(0.5) ? 0 : 0.3;
  const key = pick(KEYS);
  const schema = schemas.get(key);
  if (!schema) throw new Error(`fuzz: no schema ${key}`);
  const args = schema.args.map((a) => valueFor(a.type));
  if (chance(0.1)) args.push(pick(WRONG)); // too many
  if (chance(0.1)) args.splice(Math.floor(rand() * args.length), 1); // one missing / shifted
  return [`callOp('${key}', ${args.map(show).join(', ')})`, () => callOp(key, ...args)];
}

// ---- the typed API, given wrong arguments through `any` ----
const API: Array<[string, (...a: any[]) => unknown, number]> = [
  ['reshape', (t, ...a) => t.reshape(...a), 2], ['permute', (t, ...a) => t.permute(...a), 3], ['sum', (t, a, b) => t.sum(a, b), 2],
  ['argmax', (t, a) => t.argmax(a), 1], ['gather', (t, a, b) => t.gather(a, b), 2], ['to', (t, a) => t.to(a), 1],
  ['contiguous', (t, a) => t.contiguous(a), 1], ['isContiguous', (t, a) => t.isContiguous(a), 1], ['clamp', (t, a, b) => t.clamp(a, b), 2],
  ['narrow', (t, a, b, c) => t.narrow(a, b, c), 3], ['oneHot', (t, a) => t.oneHot(a), 1], ['item', (t) => t.item(), 0],
  ['backward', (t, a) => t.backward(a), 1], ['conv2d', (t, w, b, o) => F.conv2d(t, w, b, o), 3], ['interpolate', (t, o) => F.interpolate(t, o), 1],
  ['maxPool2d', (t, k, o) => F.maxPool2d(t, k, o), 2], ['pad', (t, p, m) => F.pad(t, p, m), 2], ['crossEntropy', (t, y, o) => F.crossEntropy(t, y, o), 2],
  ['zeros', (_t, s, o) => zeros(s, o), 2], ['full', (_t, s, v) => full(s, v), 2], ['tensor', (_t, d, o) => tensor(d, o), 2],
];
const apiArg = (): unknown => (chance(0.5) ? pick(WRONG) : chance(0.5) ? pick(pool) : pick([0, 1, 2, -1, [2, 3], { size: 3 }, { stride: 2 }, 'bilinear']));

function apiCall(): [string, () => unknown] {
  const [name, fn, n] = pick(API);
  const self = chance(0.9) ? pick(pool) : disposed;
  const args = Array.from({ length: n }, apiArg);
  return [`${name}(${[self, ...args].map(show).join(', ')})`, () => fn(self, ...args)];
}

function show(v: unknown): string {
  if (v instanceof Tensor) return v.isDisposed ? 'disposed' : `T[${v.shape}:${v.dtype}]`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(',')}]`;
  if (v instanceof Float32Array) return 'Float32Array';
  return JSON.stringify(v) ?? String(v);
}

// ---- the run ----
const trace = traceFile ? openSync(traceFile, 'w') : -1;
let threw = 0;
let ok = 0;
let asyncBatches = 0;
const badErrors: string[] = [];

function judge(e: unknown, what: string): void {
  threw++;
  const msg = e instanceof Error ? e.message : '';
  if (!(e instanceof Error) || msg.length === 0 || /frame #\d|Exception raised from|registered at/.test(msg)) {
    if (badErrors.length < 5) badErrors.push(`${what} -> ${e instanceof Error ? msg.slice(0, 300) : `non-Error ${String(e)}`}`);
  }
}

let done = 0;
while (done < calls) {
  if (chance(0.05)) {
    // a batch of calls queued on the compute thread
    const batch = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => (chance(0.5) ? genericCall() : apiCall()));
    if (trace >= 0) writeSync(trace, `async ${batch.map(([w]) => w).join(' ; ')}\n`);
    asyncBatches++;
    try {
      await runAsync(() => tidy(() => { for (const [, run] of batch) run(); }));
      ok += batch.length;
    } catch (e) {
      judge(e, `async batch ${batch.map(([w]) => w).join(' ; ')}`);
    }
    done += batch.length;
    continue;
  }
  const [what, run] = chance(0.6) ? genericCall() : apiCall();
  if (trace >= 0) writeSync(trace, `${what}\n`);
  try {
    tidy(() => { run(); });
    ok++;
  } catch (e) {
    judge(e, what);
  }
  done++;
}
for (const t of pool) {
  t.grad = undefined;
  t.dispose();
}
if (trace >= 0) closeSync(trace);
console.log(JSON.stringify({ calls: done, threw, ok, asyncBatches, leaked: memory().tensors - start, badErrors }));
