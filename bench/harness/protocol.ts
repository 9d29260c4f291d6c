// The runner protocol shared by every benchmark runner (Node or Python): each is a separate
// process that runs `warmup` untimed steps, then `reps` timed ones, and prints ONE JSON line on
// stdout. Node runners (ort_unet.ts, bench/segkit/*.ts) build that line with these helpers;
// bench/peers/bench_common.py is the Python twin.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

/** The JSON line a runner prints. Extra fields are allowed and kept in `--json` output. */
export interface ResultLine {
  workload: string;
  runner: string;
  images_per_s: number;
  median_s: number;
  reps: number;
  batch?: number;
  peak_rss_mb: number;
  threads: number;
  times_s?: number[];
  [extra: string]: unknown;
}

export interface RunnerFlags {
  mode?: string;
  batch: number;
  size: number;
  reps: number;
  warmup: number;
  threads: number;
  /** Flags the caller declared beyond the common ones, as strings. */
  rest: Record<string, string | undefined>;
}

/**
 * Parse the common runner flags (--reps, --warmup, --threads, --batch, --size, --mode) plus
 * `extra` string options. Unknown flags are an error naming the flag.
 */
export function parseRunnerFlags(
  argv: string[],
  defaults: { batch: number; size: number; warmup?: number },
  extra: string[] = [],
): RunnerFlags {
  const options: Record<string, { type: 'string' }> = {};
  for (const name of ['mode', 'batch', 'size', 'reps', 'warmup', 'threads', ...extra]) options[name] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const int = (name: string, fallback: number, min: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
  const rest: Record<string, string | undefined> = {};
  for (const name of extra) rest[name] = values[name];
  return {
    mode: values.mode,
    batch: int('batch', defaults.batch, 1),
    size: int('size', defaults.size, 1),
    reps: int('reps', 5, 1),
    warmup: int('warmup', defaults.warmup ?? 1, 0),
    threads: int('threads', availableParallelism(), 1),
    rest,
  };
}

/** Run `step` warmup + reps times; return the timed durations in seconds. Progress on stderr. */
export async function timeSteps(step: () => unknown, reps: number, warmup: number, label: string): Promise<number[]> {
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    await step();
    process.stderr.write(`[${label}] warm-up ${i + 1}/${warmup}: ${((performance.now() - t0) / 1000).toFixed(3)} s\n`);
  }
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
    process.stderr.write(`[${label}] rep ${i + 1}/${reps}: ${times[i]!.toFixed(3)} s\n`);
  }
  return times;
}

export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** This process's peak resident set size in MiB (maxRSS is reported in KiB on Linux). */
export function peakRssMb(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** Print the one JSON result line on stdout. */
export function emitResult(fields: { workload: string; runner: string; batch: number; threads: number; times: number[] } & Record<string, unknown>): void {
  const { workload, runner, batch, threads, times, ...extra } = fields;
  const m = median(times);
  const line: ResultLine = {
    workload,
    runner,
    images_per_s: batch / m,
    median_s: m,
    reps: times.length,
    batch,
    peak_rss_mb: peakRssMb(),
    threads,
    times_s: times.map((t) => Math.round(t * 1e4) / 1e4),
    ...extra,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** Deterministic pseudo-random floats in [-1, 1) (xorshift32), for runner inputs. */
export function randomFloats(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
