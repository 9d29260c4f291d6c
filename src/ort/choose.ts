// `--backend auto`: libtorch or ONNX Runtime, whichever runs this model faster on this machine. As
// the layout chooser does (src/nn/layout.ts), the first input of each shape times both: a warm-up
// each, then rounds of one timed pass per backend, alternating, so load elsewhere hits both alike;
// the fastest pass counts. The choice is cached (~/.cache/segkit/backends.json) per machine,
// libtorch and ONNX Runtime versions, threads, model and input shape, so it is measured once.
import type { Tensor } from '../torch/index.js';
import type { Forward } from '../predict/forward.js';
import { choiceCacheFile, readChoices, writeChoice } from '../nn/choice-cache.js';

export type Backend = 'torch' | 'ort';
export const BACKENDS: readonly Backend[] = ['torch', 'ort'];

export interface BackendChoice {
  backend: Backend;
  /** Seconds of the fastest timed pass of each backend (empty when read from the cache). */
  seconds: Partial<Record<Backend, number>>;
  source: 'measured' | 'cache';
  /** The input shape it was chosen for. */
  shape: number[];
}

export interface AutoBackendOptions {
  /** What the choice depends on besides the input shape: machine, versions, threads, model. */
  key: string;
  /** Default $XDG_CACHE_HOME/segkit/backends.json (~/.cache/segkit/backends.json). */
  cacheFile?: string;
  /** Timed rounds at least (default 1); more, up to 5, while less than `minSeconds` (default 10) per backend were timed. */
  steps?: number;
  minSeconds?: number;
  /** Told each choice once, when it is made or read from the cache. */
  onChoice?: (choice: BackendChoice) => void;
}

type Entry = { backend: Backend; seconds: Partial<Record<Backend, number>> };

/** A Forward that runs each input shape on the backend chosen (measured once, then cached) for it. */
export function autoForward(forwards: Record<Backend, Forward>, opts: AutoBackendOptions): Forward {
  const file = opts.cacheFile ?? choiceCacheFile('backends.json');
  const chosen = new Map<string, Promise<Backend>>();
  return async (x: Tensor) => {
    const shape = `${x.shape.join('x')} ${x.dtype}`;
    let backend = chosen.get(shape);
    if (backend === undefined) {
      backend = choose(forwards, x, `${opts.key} | ${shape}`, file, opts);
      chosen.set(shape, backend);
    }
    return forwards[await backend](x);
  };
}

async function choose(forwards: Record<Backend, Forward>, x: Tensor, key: string, file: string, opts: AutoBackendOptions): Promise<Backend> {
  const cached = readChoices<Entry>(file)[key];
  if (cached !== undefined && BACKENDS.includes(cached.backend)) {
    opts.onChoice?.({ ...cached, source: 'cache', shape: x.shape });
    return cached.backend;
  }
  const timed = async (b: Backend): Promise<number> => {
    const t = performance.now();
    (await forwards[b](x)).dispose();
    return (performance.now() - t) / 1000;
  };
  const times = new Map<Backend, number[]>(BACKENDS.map((b) => [b, []]));
  for (const b of BACKENDS) await timed(b); // warm-up: first allocations, kernel choices
  const spent = (): number => Math.min(...[...times.values()].map((ts) => ts.reduce((a, c) => a + c, 0)));
  for (let round = 0; round < (opts.steps ?? 1) || (round < 5 && spent() < (opts.minSeconds ?? 10)); round++) {
    for (const b of BACKENDS) times.get(b)!.push(await timed(b));
  }
  const seconds: Partial<Record<Backend, number>> = {};
  for (const [b, ts] of times) seconds[b] = Math.min(...ts);
  const backend = BACKENDS.reduce((a, b) => (seconds[b]! < seconds[a]! ? b : a));
  writeChoice<Entry>(file, key, { backend, seconds });
  opts.onChoice?.({ backend, seconds, source: 'measured', shape: x.shape });
  return backend;
}
