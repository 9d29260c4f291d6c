// Records one forward pass of a model as a list of op calls: every op goes through callOp
// (torch/dispatch.ts), so a tracer there sees each call's key, its arguments and its result;
// Module.call tells which module made the call. Tensors become numbered values: the input, the
// model's parameters and buffers (by their state-dict names), constants made inside forward (their
// data copied when first used), and each op's results. An in-place op gives its tensor a new value.
// Reading a computed tensor's values into JavaScript (item(), data()) fails the recording: what
// the code then does with the numbers is invisible to it. So does using a tensor that an in-place
// op changed through another view of its memory (ONNX values never share memory).
//
//   const rec = recordForward(model, x);   // rec.ops[i] = { key, args, outputs, path }
import { Tensor, noGrad, traceOps, type OpTracer } from '../torch/index.js';
import { observeModuleCalls, type Module } from '../nn/index.js';

/** An op argument: a value id, a list of value ids (null for an absent optional), or a plain value. */
export type RecordedArg = { value: number } | { values: (number | null)[] } | unknown;

export interface RecordedOp {
  key: string;
  args: RecordedArg[];
  /** Value ids of the tensor results, in order. */
  outputs: number[];
  /** Module path of the innermost Module.call running ('' for the model itself). */
  path: string;
  /** Class name of that module. */
  moduleType: string;
}

/** A tensor that was not made by a recorded op: parameter, buffer, or a constant made in forward. */
export interface RecordedConstant {
  /** State-dict name for parameters and buffers; undefined for other constants. */
  name?: string;
  dtype: string;
  shape: number[];
  data: ArrayBufferView;
}

export interface Recording {
  ops: RecordedOp[];
  /** Shape and dtype of every value when recorded. */
  values: Map<number, { shape: number[]; dtype: string }>;
  input: number;
  constants: Map<number, RecordedConstant>;
  /** Output name ('out', 'aux') → value id. */
  outputs: Map<string, number>;
  /** padToMultiple hints: the value made by the pad → the padded value and the multiple. */
  padToMultiple: Map<number, { input: number; multiple: number }>;
}

// Ops whose results share the first argument's memory: an in-place op on one of them changes the
// others too, which a graph of values cannot express. (reshape, flatten, contiguous and to() only
// sometimes share it; they are left out rather than refuse graphs that are right.)
const VIEW_OPS = new Set([
  'narrow', 'slice.Tensor', 'select.int', 'view', 'transpose.int', 'permute', 'unsqueeze', 'squeeze', 'squeeze.dim',
  'expand', 'expand_as', 'detach', 'segkit::share', 'alias', 'as_strided', 'numpy_T', 'chunk', 'split.Tensor', 'split_with_sizes', 'unbind.int',
]);

export const isValueArg = (a: unknown): a is { value: number } => typeof a === 'object' && a !== null && !Array.isArray(a) && 'value' in a;
export const isValuesArg = (a: unknown): a is { values: (number | null)[] } => typeof a === 'object' && a !== null && !Array.isArray(a) && 'values' in a;

/**
 * Runs `model.call(input)` once (no gradients) while recording. The model's named parameters and
 * buffers are known by name beforehand; its result must be a tensor or `{ out, aux? }`.
 * `constantData: false` leaves the constants' data out (a trace only compared with another).
 */
export function recordForward(model: Module, input: Tensor, opts: { constantData?: boolean } = {}): Recording {
  const copyData = opts.constantData ?? true;
  const names = new Map<Tensor, string>();
  for (const [n, t] of model.namedParameters()) names.set(t, n);
  for (const [n, t] of model.namedBuffers()) if (!names.has(t)) names.set(t, n);
  const paths = new Map<Module, string>();
  for (const [n, m] of model.namedModules()) if (!paths.has(m)) paths.set(m, n);

  const ids = new Map<Tensor, number>();
  const rec: Recording = { ops: [], values: new Map(), input: 0, constants: new Map(), outputs: new Map(), padToMultiple: new Map() };
  let next = 0;
  const stack: Module[] = [model];

  const newValue = (t: Tensor): number => {
    const id = next++;
    ids.set(t, id);
    const info = t.info();
    rec.values.set(id, { shape: info.shape, dtype: info.dtype });
    return id;
  };
  // a tensor seen for the first time as an argument: a parameter, a buffer or a constant
  const valueOf = (t: Tensor): number => {
    const known = ids.get(t);
    if (known !== undefined) return known;
    const id = newValue(t);
    const info = t.info();
    const data = copyData ? ownRead(() => t.data()) : new Uint8Array(0);
    rec.constants.set(id, { name: names.get(t), dtype: info.dtype, shape: info.shape, data });
    return id;
  };
  const argOf = (a: unknown): RecordedArg => {
    if (a instanceof Tensor) return { value: valueOf(a) };
    if (Array.isArray(a) && a.some((x) => x instanceof Tensor)) return { values: a.map((x) => (x instanceof Tensor ? valueOf(x) : null)) };
    return a;
  };

  const aliases = new Map<number, Set<number>>(); // value → the values sharing its memory (views)
  const stale = new Map<number, string>(); // value → the in-place op that changed it through a view
  let reading = false; // the recorder's own reads of constants
  const ownRead = <T>(fn: () => T): T => {
    reading = true;
    try {
      return fn();
    } finally {
      reading = false;
    }
  };

  const tracer: OpTracer = {
    read(t, how) {
      const id = ids.get(t);
      if (reading || id === undefined || rec.constants.has(id)) return; // parameters, buffers, constants
      const m = stack[stack.length - 1];
      throw new Error(`exportOnnx: ${how} in ${paths.get(m) === '' ? 'the model itself' : `'${paths.get(m)}'`} (${m.constructor.name}) reads values computed from the input into JavaScript; a graph cannot follow what is done with them (compute it with tensor ops instead)`);
    },
    op(key, args, result) {
      const m = stack[stack.length - 1];
      const where = `${key.includes('::') ? key : `aten::${key}`} in ${paths.get(m) === '' ? 'the model itself' : `'${paths.get(m)}'`} (${m.constructor.name})`;
      const recordedArgs = args.map(argOf);
      for (const a of recordedArgs) {
        for (const id of isValueArg(a) ? [a.value] : isValuesArg(a) ? a.values : []) {
          const changed = id === null ? undefined : stale.get(id);
          if (changed !== undefined) {
            throw new Error(`exportOnnx: ${where} uses a tensor that ${changed} changed in place through a view of its memory; ONNX values cannot share memory, so use the op that returns a new tensor there (e.g. ReLU without inplace)`);
          }
        }
      }
      const results = result instanceof Tensor ? [result] : Array.isArray(result) ? result.filter((r): r is Tensor => r instanceof Tensor) : [];
      // an in-place op returns its argument: the other views of that memory keep the old values
      for (const r of results) {
        const before = args.includes(r) ? ids.get(r) : undefined;
        for (const other of before === undefined ? [] : aliases.get(before) ?? []) if (other !== before) stale.set(other, where);
      }
      const outputs = results.map(newValue);
      const source = recordedArgs[0];
      if (VIEW_OPS.has(key) && isValueArg(source)) {
        const shared = aliases.get(source.value) ?? new Set([source.value]);
        aliases.set(source.value, shared);
        for (const id of outputs) {
          shared.add(id);
          aliases.set(id, shared);
        }
      }
      rec.ops.push({ key, args: recordedArgs, outputs, path: paths.get(m) ?? '?', moduleType: m.constructor.name });
    },
    hint(kind, data) {
      if (kind !== 'padToMultiple') return;
      const out = ids.get(data.output as Tensor);
      const inp = ids.get(data.input as Tensor);
      if (out !== undefined && inp !== undefined) rec.padToMultiple.set(out, { input: inp, multiple: data.multiple as number });
    },
  };

  rec.input = newValue(input);
  const result = noGrad(() =>
    observeModuleCalls(
      (m, run) => {
        stack.push(m);
        try {
          return run();
        } finally {
          stack.pop();
        }
      },
      () => traceOps(tracer, () => model.call(input)),
    ),
  );
  try {
    const outs: [string, unknown][] = result instanceof Tensor ? [['out', result]] : Object.entries(result as object);
    for (const [name, t] of outs) {
      if (!(t instanceof Tensor)) continue;
      const id = ids.get(t);
      if (id === undefined) throw new Error(`export: the model's output '${name}' was not made by a recorded op (is it the input or a parameter?)`);
      rec.outputs.set(name, id);
    }
  } finally {
    disposeAll(result);
  }
  return rec;
}

function disposeAll(v: unknown): void {
  if (v instanceof Tensor) v.dispose();
  else if (Array.isArray(v)) v.forEach(disposeAll);
  else if (v !== null && typeof v === 'object') Object.values(v).forEach(disposeAll);
}
