// ONNX export: record the model's forward pass twice (at the example size and at a second size
// that changes every dynamic axis), check that both recorded the same ops, and map each op to
// ONNX nodes (onnx-ops.ts). Arguments that differ between the two traces are the size-dependent
// ones: mapped ops build them from Shape nodes, so the graph works at every input size; any
// other difference fails the export, as does an op without a mapping, naming the op and the
// module that called it.
//
//   const bytes = exportOnnx(model, { inputShape: [1, 3, 256, 256], metadata: { classes: [...] } });
//   await writeOnnx(model, 'model.onnx', { metadata });
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { zeros } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { writeAtomic } from '../io/atomic.js';
import { GraphBuilder } from './graph.js';
import { decodeModel, encodeModel, tensorProto, valueInfo, type Model, type Node } from './onnx-proto.js';
import { OP_MAPPINGS, type OpContext } from './onnx-ops.js';
import { isValueArg, isValuesArg, recordForward, type RecordedOp, type Recording } from './record.js';

export interface ExportOptions {
  /**
   * The example input's shape [N, C, H, W]; the graph is traced at it. Default [1, C, 64, 64]
   * with C the input channels of the model's first convolution (3 if it has none).
   */
  inputShape?: number[];
  /**
   * Which input axes may change at run time (default: batch, height and width). `false` fixes
   * all of them to inputShape.
   */
  dynamicAxes?: boolean | { batch?: boolean; height?: boolean; width?: boolean };
  /** Stored as the model's metadata_props; values that are not strings are stored as JSON. */
  metadata?: Record<string, unknown>;
  /** ONNX opset (default 17; 14 to 17 give the same graph). */
  opset?: number;
  /** Which of the model's outputs the graph returns (default ['out']; 'aux' where the model has one). */
  outputs?: string[];
  /** Graph input name (default 'input'). */
  inputName?: string;
}

/** The exporter's version of the graph it writes, in metadata_props as segkit.export. */
export const EXPORT_FORMAT = 1;

/** The model as ONNX file bytes (a ModelProto). The model's training mode is restored afterwards. */
export function exportOnnx(model: Module, opts: ExportOptions = {}): Uint8Array {
  const opset = opts.opset ?? 17;
  if (!Number.isInteger(opset) || opset < 14 || opset > 17) throw new Error(`exportOnnx: opset must be 14 to 17, got ${opset}`);
  const shape = opts.inputShape ?? [1, firstConvChannels(model) ?? 3, 64, 64];
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`exportOnnx: inputShape must be [N, C, H, W] with positive whole numbers, got [${shape.join(', ')}]`);
  }
  const axes = dynamicAxesOf(opts.dynamicAxes);
  // the second trace moves every dynamic axis by a different odd amount, so sizes taken from the
  // height are not confused with sizes taken from the width
  const second = [shape[0] + (axes.batch ? 1 : 0), shape[1], shape[2] + (axes.height ? 29 : 0), shape[3] + (axes.width ? 19 : 0)];

  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  try {
    const first = trace(model, shape);
    const other = second.every((d, i) => d === shape[i]) ? first : trace(model, second, false);
    return buildModel(first, other, shape, second, opset, opts);
  } finally {
    for (const [m, mode] of modes) m.training = mode;
  }
}

/** exportOnnx, written to `file` atomically (a temporary file renamed into place). */
export async function writeOnnx(model: Module, file: string, opts: ExportOptions = {}): Promise<number> {
  const bytes = exportOnnx(model, opts);
  await writeAtomic(file, bytes);
  return bytes.byteLength;
}

/** The metadata_props of an ONNX file as a plain object (values as stored: strings). */
export async function readOnnxMetadata(file: string): Promise<Record<string, string>> {
  const m = decodeModel(await readFile(file));
  return Object.fromEntries((m.metadata_props ?? []).map((e) => [e.key, e.value]));
}

function firstConvChannels(model: Module): number | undefined {
  const weight = model.parameters().find((p) => p.ndim === 4);
  return weight?.shape[1];
}

function dynamicAxesOf(d: ExportOptions['dynamicAxes']): { batch: boolean; height: boolean; width: boolean } {
  if (d === undefined || d === true) return { batch: true, height: true, width: true };
  if (d === false) return { batch: false, height: false, width: false };
  return { batch: d.batch ?? false, height: d.height ?? false, width: d.width ?? false };
}

function trace(model: Module, shape: number[], constantData = true): Recording {
  const x = zeros(shape);
  try {
    return recordForward(model, x, { constantData });
  } finally {
    x.dispose();
  }
}

const where = (op: RecordedOp): string => `${op.path === '' ? 'the model itself' : `'${op.path}'`} (${op.moduleType})`;
const atenName = (key: string): string => (key.includes('::') ? key : `aten::${key}`);

function sameOps(a: Recording, b: Recording): void {
  const n = Math.min(a.ops.length, b.ops.length);
  for (let i = 0; i < n; i++) {
    const x = a.ops[i];
    const y = b.ops[i];
    const tensorsDiffer = x.args.some((arg, j) => (isValueArg(arg) || isValuesArg(arg) || isValueArg(y.args[j]) || isValuesArg(y.args[j])) && JSON.stringify(arg) !== JSON.stringify(y.args[j]));
    if (x.key !== y.key || x.path !== y.path || tensorsDiffer) {
      throw new Error(`exportOnnx: the model runs different ops at different input sizes (op ${i}: ${atenName(x.key)} in ${where(x)} vs ${atenName(y.key)} in ${where(y)}); export with dynamicAxes: false, or make the forward take the same path at every size`);
    }
  }
  if (a.ops.length !== b.ops.length) throw new Error(`exportOnnx: the model runs ${a.ops.length} ops at one input size and ${b.ops.length} at another; export with dynamicAxes: false`);
}

const equal = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function buildModel(first: Recording, second: Recording, shape: number[], secondShape: number[], opset: number, opts: ExportOptions): Uint8Array {
  if (first !== second) sameOps(first, second);
  const g = new GraphBuilder();
  const names = new Map<number, string>();
  const inputName = opts.inputName ?? 'input';
  names.set(first.input, g.fresh(inputName));
  const wanted = opts.outputs ?? ['out'];
  for (const o of wanted) {
    if (!first.outputs.has(o)) throw new Error(`exportOnnx: the model has no output '${o}' (it returns ${[...first.outputs.keys()].join(', ')})`);
  }
  const outputNames = wanted.map((o) => g.fresh(o));

  const valueName = (id: number): string => {
    const n = names.get(id);
    if (n !== undefined) return n;
    const c = first.constants.get(id);
    if (c === undefined) throw new Error(`exportOnnx: internal error, value ${id} has no producer`);
    const name = g.fresh(c.name ?? `constant_${id}`);
    g.initializer(tensorProto(name, c.dtype, c.shape, c.data));
    names.set(id, name);
    return name;
  };
  // where each value was made: earlier values are size references for later ops
  const order: number[] = [first.input];

  first.ops.forEach((op, index) => {
    const mapping = OP_MAPPINGS[op.key];
    const fail = (why: string): never => {
      throw new Error(`exportOnnx: ${atenName(op.key)} called in ${where(op)}: ${why}`);
    };
    if (mapping === undefined) fail(`no ONNX mapping for this op (segkit maps ${Object.keys(OP_MAPPINGS).filter((k) => !k.includes('_.') && !k.endsWith('_')).length} ops; see src/export/onnx-ops.ts)`);
    const other = second.ops[index];
    op.args.forEach((a, i) => {
      if (isValueArg(a) || isValuesArg(a) || equal(a, other.args[i])) return;
      if (!(mapping!.dynamic ?? []).includes(i)) {
        fail(`argument ${i} changes with the input size (${JSON.stringify(a)} at [${shape.join(', ')}], ${JSON.stringify(other.args[i])} at [${secondShape.join(', ')}]) and this op cannot take it from the input's shape; export with dynamicAxes: false`);
      }
    });
    const tensorArg = (i: number): number => {
      const a = op.args[i];
      if (!isValueArg(a)) return fail(`argument ${i} is not a tensor`);
      return a.value;
    };
    const ctx: OpContext = {
      g,
      op,
      nodeName: (t) => `${op.path === '' ? '' : `${op.path}/`}${t}`,
      input: (i) => (op.args[i] === undefined || op.args[i] === null ? '' : valueName(tensorArg(i))),
      inputs: (i) => {
        const a = op.args[i];
        if (!isValuesArg(a)) return fail(`argument ${i} is not a list of tensors`);
        return a.values.map((v) => (v === null ? fail(`argument ${i} has a missing tensor`) : valueName(v)));
      },
      arg: <T>(i: number) => op.args[i] as T,
      secondArg: <T>(i: number) => other.args[i] as T,
      dynamic: (i) => !equal(op.args[i], other.args[i]),
      shape: (i) => first.values.get(tensorArg(i))!.shape,
      dtype: (i) => first.values.get(tensorArg(i))!.dtype,
      sizesLike: (a, b) => sizesLike(g, first, second, order, valueName, a, b, fail),
      padToMultiple: () => {
        const rule = first.padToMultiple.get(op.outputs[0]);
        return rule === undefined ? undefined : { input: valueName(rule.input), multiple: rule.multiple };
      },
      fail,
    };
    const outs = mapping!.emit(ctx);
    op.outputs.forEach((id, i) => {
      names.set(id, outs[i]);
      order.push(id);
    });
  });

  // graph outputs under their own names ('out', 'aux')
  const outputs = wanted.map((o, k) => {
    const id = first.outputs.get(o)!;
    const produced = names.get(id);
    if (produced === undefined) throw new Error(`exportOnnx: output '${o}' was not made by an op`);
    const final = outputNames[k];
    g.node('Identity', [produced], { outputs: [final], name: `output_${o}` });
    const s1 = first.values.get(id)!.shape;
    const s2 = second.values.get(id)!.shape;
    return valueInfo(final, first.values.get(id)!.dtype, symbolicDims(s1, s2, shape, secondShape, o));
  });

  // only the nodes the outputs need (an aux head left out computes nothing), and their initializers
  const needed = new Set(outputs.map((o) => o.name));
  const kept = new Set<Node>();
  for (const n of [...g.nodes].reverse()) {
    if (!n.output.some((o) => needed.has(o))) continue;
    kept.add(n);
    for (const i of n.input) needed.add(i);
  }
  const node = g.nodes.filter((n) => kept.has(n));
  const used = new Set(node.flatMap((n) => n.input));
  const initializer = [...g.initializers.values()].filter((t) => used.has(t.name));
  const inputDtype = first.values.get(first.input)!.dtype;
  const model: Model = {
    ir_version: 8,
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'segkit',
    producer_version: packageVersion(),
    graph: {
      name: 'segkit',
      node,
      initializer,
      input: [valueInfo(names.get(first.input)!, inputDtype, symbolicDims(shape, secondShape, shape, secondShape, inputName))],
      output: outputs,
    },
    metadata_props: metadataProps({ 'segkit.export': EXPORT_FORMAT, ...(opts.metadata ?? {}) }),
  };
  return encodeModel(model);
}

// Dims that changed between the traces are symbolic: 'batch', 'height', 'width' where they equal
// the input's, else `<output>_dim<i>`.
function symbolicDims(s1: number[], s2: number[], in1: number[], in2: number[], what: string): (number | string)[] {
  const axisNames = ['batch', '', 'height', 'width'];
  return s1.map((d, i) => {
    if (d === s2[i]) return d;
    const axis = axisNames.findIndex((n, j) => n !== '' && in1[j] === d && in2[j] === s2[i]);
    return axis >= 0 ? axisNames[axis] : `${what}_dim${i}`;
  });
}

function sizesLike(g: GraphBuilder, first: Recording, second: Recording, order: number[], valueName: (id: number) => string, a: number[], b: number[], fail: (why: string) => never): string {
  const parts: string[] = [];
  // candidates: the input first, then the most recent values
  const candidates = [order[0], ...order.slice(1).reverse()];
  let i = 0;
  while (i < a.length) {
    let found: { id: number; dim: number; len: number } | undefined;
    for (const id of candidates) {
      const s1 = first.values.get(id)!.shape;
      const s2 = second.values.get(id)!.shape;
      // the longest run of this value's dims that gives a[i..] and b[i..]
      for (let d = 0; d < s1.length && found === undefined; d++) {
        let len = 0;
        while (i + len < a.length && d + len < s1.length && s1[d + len] === a[i + len] && s2[d + len] === b[i + len]) len++;
        if (len > 0) found = { id, dim: d, len };
      }
      if (found) break;
    }
    if (found !== undefined) {
      parts.push(g.dims(valueName(found.id), found.dim, found.dim + found.len));
      i += found.len;
      continue;
    }
    // else a size plus a constant (a crop of k pixels): a dim that moved as much between the traces
    let offset: { id: number; dim: number } | undefined;
    for (const id of candidates) {
      const s1 = first.values.get(id)!.shape;
      const s2 = second.values.get(id)!.shape;
      const d = s1.findIndex((v, j) => s2[j] - v === b[i] - a[i] && v !== s2[j]);
      if (d >= 0) {
        offset = { id, dim: d };
        break;
      }
    }
    if (offset === undefined) fail(`a size [${a.join(', ')}] (at the second size [${b.join(', ')}]) is no tensor's size, nor one plus a constant, so it cannot follow the input's`);
    const k = a[i] - first.values.get(offset!.id)!.shape[offset!.dim];
    parts.push(g.node1('Add', [g.dims(valueName(offset!.id), offset!.dim, offset!.dim + 1), g.int64([k], 'offset')]));
    i += 1;
  }
  return parts.length === 1 ? parts[0] : g.node1('Concat', parts, GraphBuilder.attrs({ axis: 0 }));
}

function metadataProps(meta: Record<string, unknown>): { key: string; value: string }[] {
  return Object.entries(meta)
    .filter(([, v]) => v !== undefined)
    .map(([key, v]) => ({ key, value: typeof v === 'string' ? v : JSON.stringify(v) }));
}

let version: string | undefined;
function packageVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

