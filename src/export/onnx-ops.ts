// ATen op → ONNX (opset 17) nodes, one entry per recorded op key. Each entry turns one recorded
// call into nodes and names its outputs. Arguments that change with the input's size (a resize
// target, a crop length, a pad to a multiple) are listed in `dynamic` and built from Shape
// nodes; any other argument that differs between the exporter's two traces fails the export.
import { GraphBuilder } from './graph.js';
import type { RecordedOp } from './record.js';

const A = GraphBuilder.attrs;

export interface OpContext {
  g: GraphBuilder;
  op: RecordedOp;
  /** Name for the node ('backbone.layer1.0.conv1/Conv'). */
  nodeName(opType: string): string;
  /** The graph value of tensor argument i ('' for an absent optional tensor). */
  input(i: number): string;
  /** The graph values of a tensor-list argument. */
  inputs(i: number): string[];
  /** Argument i as recorded (first trace). */
  arg<T = unknown>(i: number): T;
  /** Argument i as recorded in the second trace. */
  secondArg<T = unknown>(i: number): T;
  /** Whether argument i differs between the two traces (depends on the input's size). */
  dynamic(i: number): boolean;
  /** Shape of tensor argument i in the first trace. */
  shape(i: number): number[];
  /** Dtype of tensor argument i. */
  dtype(i: number): string;
  /**
   * A 1-D int64 value holding, at run time, the sizes that were `first` in the first trace and
   * `second` in the second: taken from the Shape of an earlier value with those sizes in both
   * (the model's input preferred, then the most recent), else from a size that moved as much
   * between the traces, plus a constant (a crop by k pixels).
   */
  sizesLike(first: number[], second: number[]): string;
  /** The pad-to-multiple rule recorded for this op's output, if any. */
  padToMultiple(): { input: string; multiple: number } | undefined;
  /** Throws an export error naming this op and where the model called it. */
  fail(why: string): never;
}

export interface OpMapping {
  /** Argument indices allowed to change with the input size (handled by emit). */
  dynamic?: number[];
  /** Emits nodes; returns the names of the op's tensor outputs. */
  emit(c: OpContext): string[];
}

const pair = (v: unknown, name: string, c: OpContext): [number, number] => {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 1) return [v[0], v[0]];
  if (Array.isArray(v) && v.length === 2) return [v[0], v[1]];
  return c.fail(`${name} must be one or two numbers, got ${JSON.stringify(v)}`);
};

function unary(opType: string, attrs?: (c: OpContext) => ReturnType<typeof A>): OpMapping {
  return { emit: (c) => [c.g.node1(opType, [c.input(0)], attrs?.(c) ?? [], c.nodeName(opType))] };
}

function identity(): OpMapping {
  return { emit: (c) => [c.g.node1('Identity', [c.input(0)], [], c.nodeName('Identity'))] };
}

// add/sub: a + alpha·b; mul/div: a ∘ b; b a tensor or a scalar (made a constant of a's dtype)
function binary(opType: 'Add' | 'Sub' | 'Mul' | 'Div', scalarOther: boolean, hasAlpha: boolean): OpMapping {
  return {
    emit(c) {
      let b = scalarOther ? c.g.scalar(c.arg<number>(1), c.dtype(0), `${c.op.path}/${opType}_operand`) : c.input(1);
      const alpha = hasAlpha ? c.arg<number | undefined>(2) : undefined;
      if (alpha !== undefined && alpha !== 1) b = c.g.node1('Mul', [b, c.g.scalar(alpha, c.dtype(0), 'alpha')], [], c.nodeName('Mul'));
      return [c.g.node1(opType, [c.input(0), b], [], c.nodeName(opType))];
    },
  };
}

const noTraining = (what: string) => (c: OpContext, training: unknown): void => {
  if (training) c.fail(`${what} in training mode cannot be exported; call model.eval() first`);
};

function resize(mode: 'linear' | 'nearest'): OpMapping {
  // upsample_bilinear2d.vec(x, output_size?, align_corners, scales?); upsample_nearest2d.vec(x, output_size?, scales?)
  const scalesAt = mode === 'linear' ? 3 : 2;
  return {
    dynamic: [1],
    emit(c) {
      const g = c.g;
      const size = c.arg<number[] | undefined | null>(1);
      const scales = c.arg<number[] | undefined | null>(scalesAt);
      const alignCorners = mode === 'linear' && c.arg<boolean>(2) === true;
      const attrs = mode === 'linear'
        ? A({ mode: 'linear', coordinate_transformation_mode: alignCorners ? 'align_corners' : 'pytorch_half_pixel' })
        : A({ mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      let inputs: string[];
      if (size !== undefined && size !== null) {
        const other = c.dynamic(1) ? c.secondArg<number[]>(1) : size;
        const sizes = g.node1('Concat', [g.dims(c.input(0), 0, 2), c.sizesLike(size, other)], A({ axis: 0 }), c.nodeName('sizes'));
        inputs = [c.input(0), '', '', sizes];
      } else if (scales !== undefined && scales !== null) {
        const name = g.fresh(`${c.op.path}/scales`);
        const s = pair(scales, 'scale factors', c);
        g.initializer({ name, dims: [4], data_type: 1, raw_data: new Uint8Array(Float32Array.of(1, 1, s[0], s[1]).buffer) });
        inputs = [c.input(0), '', name];
      } else {
        return c.fail('neither an output size nor scale factors');
      }
      return [g.node1('Resize', inputs, attrs, c.nodeName('Resize'))];
    },
  };
}

function conv(c: OpContext): string[] {
  // conv2d(x, weight, bias?, stride, padding, dilation, groups)
  const w = c.shape(1);
  const [ph, pw] = pair(c.arg(4) ?? 0, 'padding', c);
  const inputs = [c.input(0), c.input(1)];
  if (c.input(2) !== '') inputs.push(c.input(2));
  return [c.g.node1('Conv', inputs, A({
    kernel_shape: w.slice(2),
    strides: pair(c.arg(3) ?? 1, 'stride', c),
    pads: [ph, pw, ph, pw],
    dilations: pair(c.arg(5) ?? 1, 'dilation', c),
    group: c.arg<number | undefined>(6) ?? 1,
  }), c.nodeName('Conv'))];
}

function convTranspose(c: OpContext): string[] {
  // conv_transpose2d.input(x, weight, bias?, stride, padding, output_padding, groups, dilation)
  const w = c.shape(1);
  const [ph, pw] = pair(c.arg(4) ?? 0, 'padding', c);
  const inputs = [c.input(0), c.input(1)];
  if (c.input(2) !== '') inputs.push(c.input(2));
  return [c.g.node1('ConvTranspose', inputs, A({
    kernel_shape: w.slice(2),
    strides: pair(c.arg(3) ?? 1, 'stride', c),
    pads: [ph, pw, ph, pw],
    output_padding: pair(c.arg(5) ?? 0, 'output padding', c),
    group: c.arg<number | undefined>(6) ?? 1,
    dilations: pair(c.arg(7) ?? 1, 'dilation', c),
  }), c.nodeName('ConvTranspose'))];
}

function batchNorm(c: OpContext): string[] {
  // batch_norm(x, weight?, bias?, running_mean?, running_var?, training, momentum, eps, cudnn_enabled)
  noTraining('batch_norm')(c, c.arg(5));
  if (c.input(3) === '' || c.input(4) === '') c.fail('batch_norm without running statistics (track_running_stats=False) cannot be exported');
  const channels = c.shape(0)[1];
  const scale = c.input(1) !== '' ? c.input(1) : c.g.filled(1, channels, `${c.op.path}/ones`);
  const bias = c.input(2) !== '' ? c.input(2) : c.g.filled(0, channels, `${c.op.path}/zeros`);
  return [c.g.node1('BatchNormalization', [c.input(0), scale, bias, c.input(3), c.input(4)], A({ epsilon: { f: c.arg<number>(7) ?? 1e-5 } }), c.nodeName('BatchNormalization'))];
}

function maxPool(c: OpContext): string[] {
  // max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)
  const k = pair(c.arg(1), 'kernel size', c);
  const strideArg = c.arg<number[] | undefined>(2);
  const stride = strideArg === undefined || (Array.isArray(strideArg) && strideArg.length === 0) ? k : pair(strideArg, 'stride', c);
  const [ph, pw] = pair(c.arg(3) ?? 0, 'padding', c);
  return [c.g.node1('MaxPool', [c.input(0)], A({
    kernel_shape: k, strides: stride, pads: [ph, pw, ph, pw], dilations: pair(c.arg(4) ?? 1, 'dilation', c), ceil_mode: c.arg(5) ? 1 : 0,
  }), c.nodeName('MaxPool'))];
}

function avgPool(c: OpContext): string[] {
  // avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
  if (c.arg(6) !== undefined && c.arg(6) !== null) c.fail('avg_pool2d with divisor_override has no ONNX equivalent');
  const k = pair(c.arg(1), 'kernel size', c);
  const strideArg = c.arg<number[] | undefined>(2);
  const stride = strideArg === undefined || (Array.isArray(strideArg) && strideArg.length === 0) ? k : pair(strideArg, 'stride', c);
  const [ph, pw] = pair(c.arg(3) ?? 0, 'padding', c);
  return [c.g.node1('AveragePool', [c.input(0)], A({
    kernel_shape: k, strides: stride, pads: [ph, pw, ph, pw], ceil_mode: c.arg(4) ? 1 : 0, count_include_pad: c.arg(5) === false ? 0 : 1,
  }), c.nodeName('AveragePool'))];
}

function adaptiveAvgPool(c: OpContext): string[] {
  const [oh, ow] = pair(c.arg(1), 'output size', c);
  if (oh !== 1 || ow !== 1) c.fail(`adaptive_avg_pool2d to [${oh}, ${ow}] has no ONNX equivalent for every input size (only to 1x1: GlobalAveragePool)`);
  return [c.g.node1('GlobalAveragePool', [c.input(0)], [], c.nodeName('GlobalAveragePool'))];
}

function constantPad(c: OpContext): string[] {
  // constant_pad_nd(x, pad, value): pad pairs from the last dim backwards
  const g = c.g;
  const value = g.scalar(c.arg<number | undefined>(2) ?? 0, c.dtype(0), `${c.op.path}/pad_value`);
  const rule = c.padToMultiple();
  if (rule !== undefined) {
    // [0, 0, 0, 0, 0, 0, (m - h % m) % m, (m - w % m) % m]
    const m = g.int64([rule.multiple], 'multiple');
    const hw = g.dims(rule.input, 2, 4);
    const extra = g.node1('Mod', [g.node1('Sub', [m, g.node1('Mod', [hw, m])]), m], [], c.nodeName('pad_to_multiple'));
    const pads = g.node1('Concat', [g.int64([0, 0, 0, 0, 0, 0], 'pads_fixed'), extra], A({ axis: 0 }));
    return [g.node1('Pad', [c.input(0), pads, value], A({ mode: 'constant' }), c.nodeName('Pad'))];
  }
  if (c.dynamic(1)) c.fail('its padding depends on the input size in a way the exporter cannot express (only padToMultiple is known)');
  const pad = c.arg<number[]>(1);
  const rank = c.shape(0).length;
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  for (let i = 0; i < pad.length / 2; i++) {
    begin[rank - 1 - i] = pad[2 * i];
    end[rank - 1 - i] = pad[2 * i + 1];
  }
  return [g.node1('Pad', [c.input(0), g.int64([...begin, ...end], 'pads'), value], A({ mode: 'constant' }), c.nodeName('Pad'))];
}

const INT64_MAX = Number.MAX_SAFE_INTEGER;

function narrow(c: OpContext): string[] {
  // narrow(x, dim, start, length)
  if (c.dynamic(1) || c.dynamic(2)) c.fail('its dim or start depends on the input size');
  const rank = c.shape(0).length;
  const dim = c.arg<number>(1) < 0 ? c.arg<number>(1) + rank : c.arg<number>(1);
  const start = c.arg<number>(2);
  const g = c.g;
  let end: string;
  if (c.dynamic(3)) {
    const len = c.sizesLike([c.arg<number>(3)], [c.secondArg<number>(3)]);
    end = start === 0 ? len : g.node1('Add', [len, g.int64([start], 'start')]);
  } else {
    end = g.int64([start + c.arg<number>(3)], 'end');
  }
  return [g.node1('Slice', [c.input(0), g.int64([start], 'start'), end, g.int64([dim], 'axis')], [], c.nodeName('Slice'))];
}

function slice(c: OpContext): string[] {
  // slice.Tensor(x, dim, start?, end?, step)
  if (c.dynamic(1) || c.dynamic(2) || c.dynamic(4)) c.fail('its dim, start or step depends on the input size');
  const rank = c.shape(0).length;
  const dim = (c.arg<number | undefined>(1) ?? 0) < 0 ? c.arg<number>(1) + rank : c.arg<number | undefined>(1) ?? 0;
  const g = c.g;
  const startV = c.arg<number | undefined | null>(2) ?? 0;
  const endArg = c.arg<number | undefined | null>(3);
  const end = c.dynamic(3) ? c.sizesLike([endArg as number], [c.secondArg<number>(3)]) : g.int64([endArg ?? INT64_MAX], 'end');
  return [g.node1('Slice', [c.input(0), g.int64([startV], 'start'), end, g.int64([dim], 'axis'), g.int64([c.arg<number | undefined>(4) ?? 1], 'step')], [], c.nodeName('Slice'))];
}

function dropout(c: OpContext): string[] {
  noTraining('dropout')(c, c.arg(2) ?? true);
  return [c.g.node1('Identity', [c.input(0)], [], c.nodeName('Identity'))];
}

function clip(c: OpContext): string[] {
  // hardtanh(x, min_val, max_val)
  const dt = c.dtype(0);
  return [c.g.node1('Clip', [c.input(0), c.g.scalar(c.arg<number | undefined>(1) ?? -1, dt, 'min'), c.g.scalar(c.arg<number | undefined>(2) ?? 1, dt, 'max')], [], c.nodeName('Clip'))];
}

function cast(c: OpContext): string[] {
  // to.dtype_layout(x, dtype?, layout?, device?, pin_memory?, non_blocking, copy, memory_format?)
  const dtype = c.arg<string | undefined>(1);
  if (dtype === undefined || dtype === null || dtype === c.dtype(0)) return [c.g.node1('Identity', [c.input(0)], [], c.nodeName('Identity'))];
  const code = ({ float32: 1, float64: 11, float16: 10, int64: 7, int32: 6, uint8: 2, bool: 9 } as Record<string, number>)[dtype];
  if (code === undefined) c.fail(`a cast to ${dtype} has no ONNX type here`);
  return [c.g.node1('Cast', [c.input(0)], A({ to: code }), c.nodeName('Cast'))];
}

const withInplace = (m: Record<string, OpMapping>): Record<string, OpMapping> => {
  const out: Record<string, OpMapping> = { ...m };
  for (const [k, v] of Object.entries(m)) {
    const dot = k.indexOf('.');
    const inplace = dot < 0 ? `${k}_` : `${k.slice(0, dot)}_${k.slice(dot)}`;
    out[inplace] ??= v;
  }
  return out;
};

/** Every ATen op key the exporter maps (in-place variants map as their out-of-place op). */
export const OP_MAPPINGS: Record<string, OpMapping> = withInplace({
  'conv2d': { emit: conv },
  'conv_transpose2d.input': { emit: convTranspose },
  'batch_norm': { emit: batchNorm },
  'relu': unary('Relu'),
  'sigmoid': unary('Sigmoid'),
  'tanh': unary('Tanh'),
  'abs': unary('Abs'),
  'neg': unary('Neg'),
  'exp': unary('Exp'),
  'log': unary('Log'),
  'sqrt': unary('Sqrt'),
  'reciprocal': unary('Reciprocal'),
  'erf': unary('Erf'),
  'hardswish': unary('HardSwish'),
  'hardsigmoid': unary('HardSigmoid', () => A({ alpha: { f: 1 / 6 }, beta: { f: 0.5 } })),
  'hardtanh': { emit: clip },
  'silu': { emit: (c) => [c.g.node1('Mul', [c.input(0), c.g.node1('Sigmoid', [c.input(0)])], [], c.nodeName('Mul'))] },
  'leaky_relu': unary('LeakyRelu', (c) => A({ alpha: { f: c.arg<number | undefined>(1) ?? 0.01 } })),
  'add.Tensor': binary('Add', false, true),
  'add.Scalar': binary('Add', true, true),
  'sub.Tensor': binary('Sub', false, true),
  'sub.Scalar': binary('Sub', true, true),
  'mul.Tensor': binary('Mul', false, false),
  'mul.Scalar': binary('Mul', true, false),
  'div.Tensor': binary('Div', false, false),
  'div.Scalar': binary('Div', true, false),
  'max_pool2d': { emit: maxPool },
  'avg_pool2d': { emit: avgPool },
  'adaptive_avg_pool2d': { emit: adaptiveAvgPool },
  'upsample_bilinear2d.vec': resize('linear'),
  'upsample_nearest2d.vec': resize('nearest'),
  'cat': { emit: (c) => [c.g.node1('Concat', c.inputs(0), A({ axis: c.arg<number | undefined>(1) ?? 0 }), c.nodeName('Concat'))] },
  'constant_pad_nd': { dynamic: [1], emit: constantPad },
  'narrow': { dynamic: [3], emit: (c) => narrow(c) },
  'slice.Tensor': { dynamic: [3], emit: (c) => slice(c) },
  'softmax.int': unary('Softmax', (c) => A({ axis: c.arg<number>(1) })),
  'dropout': { emit: dropout },
  'feature_dropout': { emit: dropout },
  'contiguous': identity(),
  'clone': identity(),
  'detach': identity(),
  'segkit::share': identity(),
  'to.dtype_layout': { emit: cast },
});
