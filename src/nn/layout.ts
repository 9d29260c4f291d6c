// The memory layout a model runs fastest in on this machine, found by measuring, not assumed.
// On one machine of this project's kind (AVX-512) channels-last trained the bench UNet 2.4x
// faster than NCHW; on another (AVX2 only) NCHW was 1.7x faster, and DeepLabv3 trained 2.7x
// slower channels-last. So, as cudnn.benchmark does, the first run of a model at an input shape
// times a step in each layout and keeps the faster; the choice is cached on disk per machine,
// libtorch, thread count, model and shape. SEGKIT_LAYOUT=nchw|channels_last overrides it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Tensor, buildInfo, getNumThreads, inferenceMode, tidy } from '../torch/index.js';
import type { Module } from './module.js';
import { fuseConvBn } from './fuse.js';
import { cpuInfo } from './cpu.js';

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
  /** Timed steps per layout after one warm-up step, at least (default 1; the median is kept). */
  steps?: number;
  /** Short steps are repeated (up to 5 per layout) until this much time was spent timing them (default 1 s). */
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
 * Measures `step(input)` with the model and input in each layout (one warm-up step, then
 * `steps` timed ones; a layout whose warm-up alone takes 2x the best step, and over a second, is cut short),
 * leaves the model in the faster layout, and caches the choice under `key`.
 */
export function chooseLayout(model: Module, input: Tensor, mode: 'train' | 'eval', step: (x: Tensor) => void, opts: ChooseLayoutOptions = {}): LayoutChoice {
  const forced = opts.layout ?? layoutFromEnv();
  if (forced !== undefined) {
    setLayout(model, forced);
    return { layout: forced, seconds: {}, source: 'override' };
  }
  const file = opts.cacheFile ?? defaultCacheFile();
  const key = cacheKey(model, input, mode);
  const cached = readCache(file)[key];
  if (cached !== undefined) {
    setLayout(model, cached.layout);
    return { ...cached, source: 'cache' };
  }
  const seconds: Partial<Record<Layout, number>> = {};
  let best = Infinity;
  for (const layout of LAYOUTS) {
    setLayout(model, layout);
    const x = toLayout(input, layout);
    try {
      const t = timeSteps(() => step(x), opts.steps ?? 1, opts.minSeconds ?? 1, Math.max(2 * best, MIN_CUT_SECONDS));
      if (t !== undefined) {
        seconds[layout] = t;
        best = Math.min(best, t);
      }
    } finally {
      if (x !== input) x.dispose();
    }
  }
  const layout = LAYOUTS.reduce((a, b) => ((seconds[b] ?? Infinity) < (seconds[a] ?? Infinity) ? b : a));
  setLayout(model, layout);
  writeCache(file, key, { layout, seconds });
  return { layout, seconds, source: 'measured' };
}

// Median seconds of at least `n` timed runs after one warm-up (more, up to 5, while less than
// `minSeconds` has been timed: one short step says little on a busy machine); undefined once the
// warm-up alone exceeds `limit`.
function timeSteps(run: () => void, n: number, minSeconds: number, limit: number): number | undefined {
  const t0 = performance.now();
  run();
  if ((performance.now() - t0) / 1000 > limit) return undefined;
  const times: number[] = [];
  for (let i = 0; i < n || (i < 5 && times.reduce((a, b) => a + b, 0) < minSeconds); i++) {
    const t = performance.now();
    run();
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
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

function defaultCacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'segkit', 'layouts.json');
}

// What the measurement depends on: the CPU and its vector units, libtorch, threads, the model's
// layers and parameter shapes, the input shape and dtype, and the mode.
function cacheKey(model: Module, input: Tensor, mode: string): string {
  const cpu = cpuInfo();
  const shapes = model.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`).join(',');
  const layers = model.modules().map((m) => m.constructor.name).join(',');
  const modelHash = createHash('sha256').update(`${layers}|${shapes}`).digest('hex').slice(0, 16);
  return [cpu.model, cpu.vectorExtensions.join('+'), `torch ${buildInfo().torchVersion}`, `${getNumThreads()} threads`, model.constructor.name, modelHash, `${input.shape.join('x')} ${input.dtype}`, mode].join(' | ');
}

type CacheEntry = Omit<LayoutChoice, 'source'>;

function readCache(file: string): Record<string, CacheEntry> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, CacheEntry>;
  } catch {
    return {}; // absent or unreadable: measure again
  }
}

function writeCache(file: string, key: string, entry: CacheEntry): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const all = { ...readCache(file), [key]: entry };
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(all, null, 1)}\n`);
    renameSync(tmp, file);
  } catch {
    // a read-only home only costs the next run a new measurement
  }
}
