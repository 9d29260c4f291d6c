// Grad mode, inference mode and autocast. libtorch keeps them per thread; segkit records them
// here and every op applies them on the thread that runs it (JS thread or compute thread).
import { native } from './native.js';
import type { DType } from './dtype.js';

interface Modes {
  grad: boolean;
  inference: boolean;
  autocastCpu: boolean;
  autocastCuda: boolean;
  cpuDtype: DType;
  cudaDtype: DType;
}

const modes: Modes = { grad: true, inference: false, autocastCpu: false, autocastCuda: false, cpuDtype: 'bfloat16', cudaDtype: 'float16' };

function withModes<T>(change: Partial<Modes>, fn: () => T): T {
  const saved = { ...modes };
  Object.assign(modes, change);
  apply();
  const restore = () => {
    Object.assign(modes, saved);
    apply();
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) {
    // an async function: the mode holds until it settles
    return result.finally(restore) as T;
  }
  restore();
  return result;
}

function apply(): void {
  native.setMode(modes.grad, modes.inference, modes.autocastCpu, modes.autocastCuda, modes.cpuDtype, modes.cudaDtype);
}

/** Run `fn` without recording autograd history (torch.no_grad). */
export const noGrad = <T>(fn: () => T): T => withModes({ grad: false }, fn);
/** Run `fn` with autograd recording even inside noGrad (torch.enable_grad). */
export const enableGrad = <T>(fn: () => T): T => withModes({ grad: true }, fn);
/** Run `fn` in inference mode: faster than noGrad, tensors made inside can never join autograd. */
export const inferenceMode = <T>(fn: () => T): T => withModes({ grad: false, inference: true }, fn);
export const isGradEnabled = (): boolean => modes.grad;

/**
 * Mixed precision (torch.autocast): ops that benefit run in `dtype` (bfloat16 on CPU, float16 on
 * CUDA by default), the rest stay float32.
 */
export function autocast<T>(device: 'cpu' | 'cuda', fn: () => T, opts: { dtype?: DType; enabled?: boolean } = {}): T {
  const enabled = opts.enabled ?? true;
  if (device === 'cpu') return withModes({ autocastCpu: enabled, cpuDtype: opts.dtype ?? 'bfloat16' }, fn);
  return withModes({ autocastCuda: enabled, cudaDtype: opts.dtype ?? 'float16' }, fn);
}

/**
 * Queue every op `fn` issues on segkit's compute thread and return at once; the Promise settles
 * when the work is done, so timers and I/O keep running meanwhile. Reading a value (item, shape,
 * data) inside waits for the queued work first.
 */
export async function runAsync<T>(fn: () => T): Promise<T> {
  native.beginAsync();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    await native.endAsync().catch(() => undefined);
    throw e;
  }
  if (result instanceof Promise) {
    await native.endAsync().catch(() => undefined);
    throw new Error('runAsync: the function must be synchronous (it queues ops); await the returned Promise instead');
  }
  await native.endAsync();
  return result;
}

/** Intra-op threads libtorch uses (defaults to the cores this process may run on). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: need a whole number of threads >= 1, got ${n}`);
  native.setNumThreads(n);
}
export const getNumThreads = (): number => native.getNumThreads();
export const manualSeed = (seed: number): void => native.manualSeed(seed);
