// Run one runner of a workload as a child process and turn what it prints into a result row.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultLine } from './protocol.js';
import type { BenchOptions, Command, RunnerSpec, Workload } from './workloads.js';

export type RowStatus = 'ok' | 'missing' | 'not-implemented' | 'failed';

export interface Row {
  runner: string;
  kind: 'segkit' | 'peer';
  status: RowStatus;
  message?: string; // why a row has no figures
  line?: ResultLine; // the runner's JSON line, when status is 'ok'
  wall_s?: number; // the whole process, start-up and warm-up included
  /** The metric in each round (NaN where that round failed), when the runner ran several rounds. */
  round_values?: number[];
}

/**
 * One row from a runner's rounds: the round with the median metric stands for it, and every
 * round's value is kept for the paired ratios. A round that failed makes the runner failed.
 */
export function combineRounds(rounds: Row[], key: string): Row {
  const failed = rounds.find((r) => r.status !== 'ok' || !r.line);
  if (failed) return failed;
  const values = rounds.map((r) => r.line![key] as number);
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const mid = order[(order.length - 1) >> 1]![1];
  return { ...rounds[mid]!, round_values: values };
}

export interface RunSettings extends BenchOptions {
  timeoutS: number;
  verbose: boolean; // forward the runners' stderr (per-rep progress) as it comes
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallS: number;
  timedOut: boolean;
}

function exec(c: Command, s: RunSettings): Promise<Exit> {
  const t0 = performance.now();
  // Every runner gets the same thread count; OpenMP/BLAS pools read these at start-up.
  const n = String(s.threads);
  const env = { ...process.env, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n };
  return new Promise((resolve) => {
    const child = spawn(c.cmd, c.args, { cwd: s.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (s.verbose) process.stderr.write(d.toString().replace(/^(?=.)/gm, '    '));
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, s.timeoutS * 1000);
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, wallS: (performance.now() - t0) / 1000, timedOut });
    };
    child.on('error', (err) => {
      stderr += `\n${err.message}`;
      done(null, null);
    });
    child.on('close', done);
  });
}

const shown = (c: Command): string => [c.cmd, ...c.args].join(' ');
const tail = (text: string, lines = 12): string => text.trimEnd().split('\n').slice(-lines).join('\n');

function failure(c: Command, e: Exit): string {
  const how = e.timedOut ? 'timed out' : e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`;
  return `${shown(c)} ${how}${e.stderr.trim() ? `:\n${tail(e.stderr)}` : ''}`;
}

/** The last stdout line that parses as a JSON object with a numeric `key`. */
export function parseResultLine(stdout: string, key: string): ResultLine | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    if (!l.trimStart().startsWith('{')) continue;
    try {
      const obj = JSON.parse(l) as ResultLine;
      if (typeof obj[key] === 'number') return obj;
    } catch {
      // not the result line; keep looking
    }
  }
  return undefined;
}

export async function runRunner(w: Workload, r: RunnerSpec, s: RunSettings, key: string): Promise<Row> {
  const base = { runner: r.name, kind: r.kind };
  if (r.notImplemented) return { ...base, status: 'not-implemented', message: r.notImplemented };
  const absent = (r.requires ?? []).filter((f) => !existsSync(join(s.root, f)));
  if (absent.length > 0) {
    // a compiled runner is named by its source: dist/bench/x.js comes from bench/x.ts
    const named = absent.map((f) => (f.startsWith('dist/') && f.endsWith('.js') ? `${f.slice(5, -3)}.ts (compiled to ${f})` : f));
    return { ...base, status: 'missing', message: `missing ${named.join(', ')}` };
  }
  for (const p of r.prepare ?? []) {
    if (!p.needed(s)) continue;
    process.stderr.write(`  ${w.name}: ${p.label}\n`);
    const c = p.command(s);
    const e = await exec(c, s);
    if (e.code !== 0) return { ...base, status: 'failed', message: `preparation failed: ${failure(c, e)}` };
  }
  const c = r.command(s);
  const e = await exec(c, s);
  const line = parseResultLine(e.stdout, key);
  if (e.code !== 0 || !line) {
    const why = e.code === 0 ? `${shown(c)} printed no JSON line with a numeric "${key}" on stdout` : failure(c, e);
    return { ...base, status: 'failed', message: why, wall_s: e.wallS };
  }
  return { ...base, status: 'ok', line, wall_s: e.wallS };
}
