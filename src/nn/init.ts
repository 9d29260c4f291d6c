// torch.nn.init: in-place initialisers with PyTorch's formulas. libtorch's CPU generator is
// PyTorch's, so after the same manualSeed() the same sequence of these calls gives bit-identical
// values to Python. Each runs without autograd recording (parameters are leaves needing grad).
import { Tensor, callOp, noGrad, tensor } from '../torch/index.js';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) throw new Error(`calculateGain: negative slope ${slope} is not a finite number`);
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity '${nonlinearity as string}' (use linear, conv2d, sigmoid, tanh, relu, leaky_relu or selu)`);
  }
}

/** fan_in = size(1) × receptive field, fan_out = size(0) × receptive field. */
export function fanInAndOut(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new Error(`init: fan in and fan out need a tensor of 2 or more dimensions, got shape [${s}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

function fan(t: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new Error(`init: mode '${mode as string}' is not supported; use 'fan_in' or 'fan_out'`);
  const { fanIn, fanOut } = fanInAndOut(t);
  return mode === 'fan_in' ? fanIn : fanOut;
}

const isEmpty = (t: Tensor): boolean => t.shape.includes(0);

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return noGrad(() => t.uniform_(a, b));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);
export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}

/** Glorot uniform: U(-a, a) with a = gain × sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fanInAndOut(t);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return uniform_(t, -a, a);
}

/** Glorot normal: N(0, std²) with std = gain × sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fanInAndOut(t);
  return normal_(t, 0, gain * Math.sqrt(2.0 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (only used with 'leaky_relu'). Default 0. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** He uniform: U(-bound, bound) with bound = gain × sqrt(3 / fan). Conv and Linear use a = √5. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = opts;
  if (isEmpty(t)) return t;
  const std = calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode));
  const bound = Math.sqrt(3.0) * std;
  return uniform_(t, -bound, bound);
}

/** He normal: N(0, std²) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = opts;
  if (isEmpty(t)) return t;
  return normal_(t, 0, calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode)));
}

// erf through libtorch's scalar path, which is the C library's erf, as Python's math.erf is:
// a JS approximation could differ in the last bit and shift the uniform bounds below.
function erf(x: number): number {
  const t = tensor(Float64Array.of(x), { shape: [] });
  const e = callOp('erf', t) as Tensor;
  const v = e.item();
  t.dispose();
  e.dispose();
  return v;
}
const normCdf = (x: number): number => (1 + erf(x / Math.sqrt(2))) / 2;

/**
 * Truncated normal N(mean, std²) restricted to [a, b], by inverse-CDF sampling as PyTorch does
 * (uniform_, erfinv_, scale, shift, clamp).
 */
export function truncNormal_(t: Tensor, opts: { mean?: number; std?: number; a?: number; b?: number } = {}): Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = opts;
  const l = normCdf((a - mean) / std);
  const u = normCdf((b - mean) / std);
  return noGrad(() => {
    t.uniform_(2 * l - 1, 2 * u - 1);
    callOp('erfinv_', t);
    t.mul_(std * Math.sqrt(2));
    t.add_(mean);
    t.clamp_(a, b);
    return t;
  });
}
