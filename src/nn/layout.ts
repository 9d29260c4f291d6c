// The memory layout a model runs fastest in on this machine, found by measuring, not assumed.
// On one machine of this project's kind (AVX-512) channels-last trained the bench UNet 2.4x
// faster than NCHW; on another (AVX2 only) NCHW was 1.7x faster, and DeepLabv3 trained 2.7x
// slower channels-last. So, as cudnn.benchmark does, the first run of a model at an input shape
// times a step in each layout and keeps the faster; the choice is cached on disk per machine,
// libtorch, thread count, model and shape. SEGKIT_LAYOUT=nchw|channels_last overrides it.
import { Tensor, inferenceMode, tidy } from '../torch/index.js';
import type { Module } from './module.js';
import { fuseConvBn } from './fuse.js';
import { choiceCacheFile, machineKey, modelKey, readChoices, writeChoice } from './choice-cache.js';

export type Layout = 'nchw' | 'channels_last';
export const LAYOUTS: readonly Layout[] = ['nchw', 'channels_last'];
// A warm-up carries one-off costs (kernel selection, first allocations): cutting a layout short on
// it is only worth it, and only fair, when steps take long.
const MIN_CUT_SECONDS = 1;

export interface LayoutChoice {
  layout: Layout;
  /** Seconds per step measured for each layout tried (absent: cut short, slower by far, or not measured). */
  seconds: Partial<Record<Layout, number>>;
  /** 'measured' now, 'cache' from an earlier measurement, 'override' from options or SEGKIT_LAYOUT. */
  source: 'measured' | 'cache' | 'override';
}

export interface ChooseLayoutOptions {
  /** Skip measuring and use this layout. Default: SEGKIT_LAYOUT, else measure. */
  layout?: Layout;
  /** The cache file; default $XDG_CACHE_HOME/segkit/layouts.json (~/.cache/segkit/layouts.json). */
  cacheFile?: string;
  /** Rounds of timed steps (one per layout each) after the warm-up, at least (default 1; the fastest step counts). */
  steps?: number;
  /** More rounds (up to 5) while less than this many seconds per layout have been timed (default 10). */
  minSeconds?: number;
}

/** The input in `layout` (a new tensor, or `x` itself when it already is). */
export function toLayout(x: Tensor, layout: Layout): Tensor {
  const format = layout === 'channels_last' ? 'channels_last' : 'contiguous';
  return x.ndim === 4 && !x.isContiguous(format) ? x.contiguous(format) : x;
}

/** Puts the model's 4-D parameters and buffers in `layout`. */
export function setLayout(model: Module, layout: Layout): void {
  model.toMemoryFormat(layout === 'channels_last' ? 'channels_last' : 'contiguous');
}

/**
 * Measures `step(input)` with the model and input in each layout and leaves the model in the
 * faster one, caching the choice under `key`. Each layout gets one warm-up step (a layout whose
 * warm-up alone takes 2x the best, and over a second, is cut short); then rounds of one timed step
 * per layout, alternating, so a burst of load elsewhere hits both alike: at least `steps` rounds,
 * more (up to 5) while less than `minSeconds` per layout has been timed. The fastest step counts:
 * load only ever slows a step down.
 */
export function chooseLayout(model: Module, input: Tensor, mode: 'train' | 'eval', step: (x: Tensor) => void, opts: ChooseLayoutOptions = {}): LayoutChoice {
  const forced = opts.layout ?? layoutFromEnv();
  if (forced !== undefined) {
    setLayout(model, forced);
    return { layout: forced, seconds: {}, source: 'override' };
  }
  const file = opts.cacheFile ?? choiceCacheFile('layouts.json');
  const key = cacheKey(model, input, mode);
  const cached = readChoices<CacheEntry>(file)[key];
  if (cached !== undefined) {
    setLayout(model, cached.layout);
    return { ...cached, source: 'cache' };
  }
  const inputs = new Map<Layout, Tensor>();
  const times = new Map<Layout, number[]>();
  const timed = (layout: Layout): number => {
    setLayout(model, layout);
    const t = performance.now();
    step(inputs.get(layout)!);
    return (performance.now() - t) / 1000;
  };
  try {
    let best = Infinity;
    for (const layout of LAYOUTS) {
      inputs.set(layout, toLayout(input, layout));
      const warm = timed(layout);
      if (warm > Math.max(2 * best, MIN_CUT_SECONDS)) continue;
      times.set(layout, []);
      best = Math.min(best, warm);
    }
    const spent = (): number => Math.min(...[...times.values()].map((ts) => ts.reduce((a, b) => a + b, 0)));
    for (let round = 0; round < (opts.steps ?? 1) || (round < 5 && spent() < (opts.minSeconds ?? 10)); round++) {
      for (const [layout, ts] of times) ts.push(timed(layout));
    }
  } finally {
    for (const x of inputs.values()) if (x !== input) x.dispose();
  }
  const seconds: Partial<Record<Layout, number>> = {};
  for (const [layout, ts] of times) seconds[layout] = Math.min(...ts);
  const layout = LAYOUTS.reduce((a, b) => ((seconds[b] ?? Infinity) < (seconds[a] ?? Infinity) ? b : a));
  setLayout(model, layout);
  writeChoice<CacheEntry>(file, key, { layout, seconds });
  return { layout, seconds, source: 'measured' };
}

/**
 * Eval mode, BatchNorm folded into the convs before it, and the faster layout for `example`
 * (an input of the shape inference will see). The model's call output may be a tensor or `{ out }`.
 */
export function prepareForInference(model: Module, example: Tensor, opts: ChooseLayoutOptions = {}): LayoutChoice {
  model.eval();
  fuseConvBn(model);
  return chooseLayout(model, example, 'eval', (x) => inferenceMode(() => tidy(() => void model.call(x))), opts);
}

/**
 * The faster layout for training on batches shaped like `example`: times forward and backward of
 * the outputs' sum (gradients are cleared afterwards; BatchNorm running statistics are restored,
 * so measuring leaves no trace in the model).
 */
export function prepareForTraining(model: Module, example: Tensor, opts: ChooseLayoutOptions = {}): LayoutChoice {
  const buffers = tidy(() => model.namedBuffers().map(([, b]) => b.clone().keep()));
  try {
    model.train();
    const choice = chooseLayout(model, example, 'train', (x) => tidy(() => {
      const y = model.call(x) as Tensor | { out: Tensor };
      (y instanceof Tensor ? y : y.out).sum().backward();
    }), opts);
    return choice;
  } finally {
    model.zeroGrad();
    const live = model.namedBuffers().map(([, b]) => b);
    inferenceMode(() => live.forEach((b, i) => b.copy_(buffers[i])));
    for (const b of buffers) b.dispose();
  }
}

function layoutFromEnv(): Layout | undefined {
  const v = process.env.SEGKIT_LAYOUT?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'auto') return undefined;
  if (v === 'nchw' || v === 'contiguous') return 'nchw';
  if (v === 'channels_last' || v === 'nhwc' || v === 'cl') return 'channels_last';
  throw new Error(`SEGKIT_LAYOUT must be nchw, channels_last or auto, got '${process.env.SEGKIT_LAYOUT}'`);
}

// What the measurement depends on: the CPU and its vector units, libtorch, threads, the model's
// layers and parameter shapes, the input shape and dtype, and the mode.
function cacheKey(model: Module, input: Tensor, mode: string): string {
  return [machineKey(), modelKey(model), `${input.shape.join('x')} ${input.dtype}`, mode].join(' | ');
}

type CacheEntry = Omit<LayoutChoice, 'source'>;
